use super::*;

/// Every kind on: the tests check each flag's rule, not which flags are on by default.
fn flags(instruction: &str, input: &str, output: &str) -> Vec<Flag> {
    flag_record(&RecordText { instruction, input, output }, &FlagConfig::all_enabled())
}

fn kinds(instruction: &str, input: &str, output: &str) -> Vec<FlagKind> {
    flags(instruction, input, output).into_iter().map(|f| f.kind).collect()
}

fn has(kind: FlagKind, instruction: &str, input: &str, output: &str) -> bool {
    kinds(instruction, input, output).contains(&kind)
}

#[test]
fn names_round_trip_and_serde_uses_them() {
    for k in FlagKind::ALL {
        assert_eq!(FlagKind::from_name(k.name()), Some(k));
        assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{}\"", k.name()));
        assert!(!k.explanation().is_empty());
    }
    assert_eq!(FlagKind::from_name("nope"), None);
}

#[test]
fn config_defaults_fill_missing_fields() {
    let cfg: FlagConfig = serde_json::from_str(r#"{"copy_overlap": 0.8, "enabled": ["refusal"]}"#).unwrap();
    assert_eq!(cfg.copy_overlap, 0.8);
    assert_eq!(cfg.near_dup_threshold, 0.85);
    assert!(cfg.is_enabled(FlagKind::Refusal) && !cfg.is_enabled(FlagKind::EmptyResponse));
    let r = RecordText { instruction: "Say hi.", input: "", output: " " };
    assert!(flag_record(&r, &cfg).is_empty());
}

#[test]
fn clean_records_get_no_flags() {
    let clean = [
        ("What is the capital of France?", "", "Paris."),
        ("Classify the sentiment.", "I loved it.", "Positive"),
        ("What is 12 times 4?", "", "48"),
        ("List three colours.", "", "- red\n- green\n- blue"),
        ("Write a haiku about rain.", "", "Grey roofs drum softly\nthe gutters sing to the street\nan umbrella blooms"),
        ("Write a Python function that adds two numbers.", "", "```python\ndef add(a, b):\n    return a + b\n```"),
        (
            "Explain why the sky is blue.",
            "",
            "Sunlight is scattered by air molecules, and blue light is scattered much more than red.",
        ),
    ];
    for (c, z, y) in clean {
        assert!(flags(c, z, y).is_empty(), "{c}: {:?}", flags(c, z, y));
    }
}

#[test]
fn empty_response() {
    assert_eq!(kinds("Name a fruit.", "", " \n\t"), vec![FlagKind::EmptyResponse]);
    assert!(!has(FlagKind::EmptyResponse, "Name a fruit.", "", "Apple"));
}

#[test]
fn copies_prompt() {
    let f = flags("Explain why leaves change colour.", "", "Explain why leaves change colour.");
    assert_eq!(f[0].kind, FlagKind::CopiesPrompt);
    assert!(f[0].reason.contains("instruction"), "{}", f[0].reason);
    let passage = "Regular exercise strengthens the heart, improves mood and helps people sleep better. Even a short \
                   daily walk can lower the risk of many long-term illnesses.";
    let near = passage.replace("many", "several");
    assert!(has(FlagKind::CopiesPrompt, "What is the main idea?", passage, &near));
    // Editing tasks legitimately reuse most words; only an unchanged text is a copy.
    let wrong = "He go to school every day on the bus with his friend Tom.";
    let fixed = "He goes to school every day on the bus with his friend Tom.";
    assert!(!has(FlagKind::CopiesPrompt, "Correct the grammar.", wrong, fixed));
    assert!(has(FlagKind::CopiesPrompt, "Correct the grammar.", wrong, wrong));
    assert!(!has(FlagKind::CopiesPrompt, "Add a comma.", "I came I saw", "I came, I saw"));
    // Reordering is not copying, and short answers never are.
    assert!(!has(FlagKind::CopiesPrompt, "Reverse the list.", "one two three four five", "five four three two one"));
    assert!(!has(FlagKind::CopiesPrompt, "Extract the city.", "Paris", "Paris"));
}

#[test]
fn refusal() {
    assert!(has(FlagKind::Refusal, "Favourite film?", "", "As an AI language model, I don't have a favourite."));
    assert!(has(FlagKind::Refusal, "Pick a stock.", "", "I'm sorry, but I cannot give financial advice."));
    assert!(has(FlagKind::Refusal, "Tell a joke.", "", "I’m sorry, but I can’t do that."));
    assert!(has(FlagKind::Refusal, "Draw a cat.", "", "This task cannot be completed by a GPT model."));
    // In-character apologies in letters and dialogues are content, not refusals.
    let decline = "I'm sorry, but I cannot attend your party on Saturday. Have a wonderful evening!";
    assert!(!has(FlagKind::Refusal, "Write an email declining a party invitation.", "", decline));
    // An apology in the middle of a text is not an opening refusal.
    assert!(!has(FlagKind::Refusal, "Write a story.", "", "Tom said: I'm unable to swim. So they taught him."));
    let mut cfg = FlagConfig::all_enabled();
    cfg.extra_refusal_phrases.push("Beep boop".into());
    let r = RecordText { instruction: "Hi", input: "", output: "BEEP BOOP, no." };
    assert_eq!(flag_record(&r, &cfg)[0].kind, FlagKind::Refusal);
}

#[test]
fn truncated() {
    let f = flags("Explain tides.", "", "Tides are caused by the Moon, whose gravity pulls the oceans toward the");
    assert_eq!(f[0].kind, FlagKind::Truncated);
    assert!(f[0].reason.contains("...") || f[0].reason.contains("toward the"), "{}", f[0].reason);
    assert!(has(FlagKind::Truncated, "Write code.", "", "```python\ndef f(x):\n    return x\n"));
    assert!(has(
        FlagKind::Truncated,
        "Give an example.",
        "",
        "A simile compares two things using like or as (for example"
    ));
    let long = "The war had many causes and the economy was weak and the harvests failed across the region while the \
                king raised taxes again and again so that many families could no longer afford bread or rent";
    assert!(has(FlagKind::Truncated, "Describe the causes.", "", long));
    // Not truncated: lists, code, labels, numbers, poems, sign-offs, hashtags.
    assert!(!has(FlagKind::Truncated, "List fruits.", "", "1. Apple\n2. Banana\n3. Cherry"));
    assert!(!has(FlagKind::Truncated, "Code?", "", "def swap(a, b):\n    return b, a\nprint(swap(1, 2))"));
    assert!(!has(FlagKind::Truncated, "Sentiment?", "", "Positive"));
    assert!(!has(FlagKind::Truncated, "Compute.", "", "The answer is 42"));
    assert!(!has(FlagKind::Truncated, "A poem.", "", "The moon is up\nthe owls are out\nand all the town is still"));
    assert!(!has(FlagKind::Truncated, "Write a note.", "", "Thanks for the help with the move last week.\nBest,"));
    assert!(!has(FlagKind::Truncated, "Tweet.", "", "Our new bread is out, come and try it today! #Fresh"));
    assert!(!has(FlagKind::Truncated, "Notes.", "", "The melody goes G A A G A A G G A"));
}

#[test]
fn placeholder() {
    // A stand-in input is its own flag, not also a placeholder.
    for input in ["<noinput>", "No Input.", "None", "<No input>", "No input required.", "N/A"] {
        assert_eq!(kinds("Name a dog breed.", input, "Beagle"), vec![FlagKind::StandInInput], "{input}");
    }
    assert!(has(FlagKind::Placeholder, "Name a dog breed.", "Use <noinput> rules.", "Beagle"));
    assert!(has(FlagKind::Placeholder, "Write a bio.", "", "<nooutput>"));
    assert!(has(FlagKind::Placeholder, "Translate hello.", "", "N/A"));
    assert!(has(FlagKind::Placeholder, "Summarize: {input}", "", "A summary of the text."));
    let f = flags("Name a dog breed.", "None", "Beagle");
    assert_eq!(f[0].reason, "the input is a stand-in \"None\" instead of being empty");
    assert!(!has(FlagKind::Placeholder, "Which of 4, 6, 8 is odd?", "", "None of them is odd."));
    assert!(!has(FlagKind::Placeholder, "Name a dog breed.", "", "Beagle"));
}

#[test]
fn needs_modality() {
    assert!(has(FlagKind::NeedsModality, "Describe the mood of this photo.", "", "Calm."));
    assert!(has(FlagKind::NeedsModality, "What is shown in the image below?", "", "A dog."));
    assert!(has(FlagKind::NeedsModality, "Listen to the recording and transcribe it.", "", "Hello."));
    // Pictures marked in the input, figures and artworks pointed at, media behind a link.
    assert!(has(FlagKind::NeedsModality, "How would you improve this design?", "[Image of a logo]", "Bolder font."));
    assert!(has(FlagKind::NeedsModality, "Describe the sketch in six adjectives.", "<image>", "Misty."));
    assert!(has(FlagKind::NeedsModality, "Identify and classify the given figure.", "", "A pentagon."));
    assert!(has(FlagKind::NeedsModality, "Critique the following artwork.", "https://www.moma.org/x/814", "Bold."));
    let yt = "https://www.youtube.com/watch?v=hPUTzyOy";
    assert!(has(FlagKind::NeedsModality, "Classify the following piano piece as classical or jazz.", yt, "Jazz."));
    assert!(has(FlagKind::NeedsModality, "Is this a cat or a dog?", "http://x.org/pet.JPG", "A cat."));
    let headline = "Summarize the article with the headline \"Apple to launch new wearable device\"";
    assert!(has(FlagKind::NeedsModality, headline, "", "Apple is launching a watch."));
    assert!(has(FlagKind::NeedsModality, "Search the web and give the population of Oslo.", "", "About 700,000."));
    // Text about media, links to text, and an article given in the input are not flagged.
    assert!(!has(FlagKind::NeedsModality, "Explain how to search the web well.", "", "Use quotes and operators."));
    assert!(!has(
        FlagKind::NeedsModality,
        "Extract the domain from the URL.",
        "https://youtube.com/watch?v=1",
        "youtube.com"
    ));
    assert!(!has(FlagKind::NeedsModality, "Classify the sentiment.", "https://example.com/page", "Neutral."));
    let article = "Apple said on Monday it will launch a ring that tracks sleep, priced at 299 dollars.";
    assert!(!has(
        FlagKind::NeedsModality,
        "Summarize the article with the headline \"Apple ring\"",
        article,
        "A ring."
    ));
    assert!(!has(FlagKind::NeedsModality, "Write a caption for an image of a beach.", "", "Sun and sand."));
    assert!(!has(FlagKind::NeedsModality, "Use the following figure of speech in a story.", "by a hair", "He won."));
    assert!(!has(
        FlagKind::NeedsModality,
        "Describe the following painting.",
        "The Starry Night by van Gogh",
        "Swirls."
    ));
    assert!(has(FlagKind::NeedsModality, "Describe the following painting.", "https://x.org/art/12", "Swirls."));
    assert!(has(FlagKind::NeedsModality, "Summarize this article.", "https://example.com/news/1", "News."));
    assert!(has(FlagKind::NeedsModality, "Generate a tweet summarizing today's news.", "", "Breaking: ..."));
    assert!(has(
        FlagKind::NeedsModality,
        "Summarize a recent news article that discusses the impacts of climate change.",
        "",
        "Recent studies have shown that climate change is a growing problem."
    ));
    assert!(has(
        FlagKind::NeedsModality,
        "Describe the works of art in a single sentence",
        "![img](https://cdn.example.com/uploads/artwork.jpg)",
        "An abstract artwork."
    ));
    // Asking for a picture or a song is answered in words (a description, the lyrics): that is no
    // missing material.
    assert!(!has(FlagKind::NeedsModality, "Draw a picture of a horse.", "", "A horse."));
    assert!(!has(FlagKind::NeedsModality, "Design a logo for a dentist.", "", "A white tooth on a blue circle."));
    // A URL inside pasted text, or a URL whose words look like cues, is not a link to open.
    assert!(!has(
        FlagKind::NeedsModality,
        "Summarize the following email.",
        "Hi team, the launch moved to Friday. The agenda is at https://intranet.example.com/website-page and \
         the slides follow tomorrow. Please confirm you can attend the review at 10am.",
        "The launch moved to Friday; confirm attendance at the 10am review."
    ));
    assert!(!has(FlagKind::NeedsModality, "Is this URL valid? https://www.mywebsite.com/watch-video", "", "Yes."));
    assert!(!has(
        FlagKind::NeedsModality,
        "Summarize the following article in one sentence: \"The city council approved a new bike lane network on \
         Monday, connecting the university to downtown by 2026.\"",
        "",
        "The council approved bike lanes linking the university and downtown by 2026."
    ));
    assert!(!has(FlagKind::NeedsModality, "Write an article about recycling.", "", "Recycling matters."));
    // URLs as data, and words that only look like modalities, are fine.
    assert!(!has(
        FlagKind::NeedsModality,
        "Extract the domain from the URL.",
        "https://www.example.com/a",
        "example.com"
    ));
    assert!(!has(
        FlagKind::NeedsModality,
        "Explain the imagery in this poem.",
        "The sea is a grey cat",
        "It is vivid."
    ));
    assert!(!has(FlagKind::NeedsModality, "Draw a conclusion from the data.", "Sales rose 5%.", "Demand grew."));
}

#[test]
fn merged_instructions() {
    assert!(has(FlagKind::MergedInstructions, "Write a haiku about rain. What is the capital of Peru?", "", "x y."));
    assert!(has(FlagKind::MergedInstructions, "1. Translate dog into German.\n2. Name the largest desert.", "", "a"));
    let blocks = "Instruction: Give a synonym for big.\nOutput: large\nInstruction: Give an antonym for hot.";
    assert!(has(FlagKind::MergedInstructions, blocks, "", "cold"));
    // One task with a constraint, a follow-up referring back, or content after a colon is one task.
    assert!(!has(FlagKind::MergedInstructions, "Write a story about a dragon. Make it funny.", "", "Once."));
    assert!(!has(FlagKind::MergedInstructions, "List three rivers. Explain why each one matters.", "", "a"));
    assert!(!has(FlagKind::MergedInstructions, "Imagine you are a chef. Describe your signature dish.", "", "a"));
    assert!(!has(FlagKind::MergedInstructions, "Classify this sentence:\nWhat time is the train leaving?", "", "q"));
    assert!(!has(FlagKind::MergedInstructions, "Write a story with:\n1. a dragon\n2. a castle", "", "Once."));
}

#[test]
fn length_ratio() {
    assert!(has(FlagKind::LengthRatio, "Write an essay about clean water.", "", "Water matters."));
    assert!(has(FlagKind::LengthRatio, "Explain how interest works.", "", "It grows."));
    let essay = "word ".repeat(200);
    assert!(has(FlagKind::LengthRatio, "Classify the sentiment of this tweet.", "Great day!", &essay));
    // Short answers are fine when the ask is short or capped.
    assert!(!has(FlagKind::LengthRatio, "Write a title for a story about a fox.", "", "The Clever Fox"));
    assert!(!has(FlagKind::LengthRatio, "Explain in one sentence what a noun is.", "", "A naming word."));
    assert!(!has(FlagKind::LengthRatio, "Classify this review.", "Bad.", "Negative"));
}

#[test]
fn noise() {
    assert!(has(FlagKind::Noise, "Recommend a café.", "", "Try the cafÃ© near the station."));
    assert!(has(FlagKind::Noise, "Quote?", "", "Never give up!!!!!!!!!!!!!!!!!!!!"));
    assert!(has(FlagKind::Noise, "Speed of light?", "", "#@~ &&^ §§ ¤¤¤ ¦¦ ~~@@ ## ^^ ~~ &% ¤¤ @@ ~#~"));
    assert!(has(FlagKind::Noise, "Colour?", "", "Red\u{7} is a colour."));
    assert!(has(FlagKind::Noise, "Say it.", "", "go go go go go go go go"));
    // Code, tables, rules, fill-in blanks and numbers are not noise.
    assert!(!has(FlagKind::Noise, "Regex?", "", "`^\\d{5}(-\\d{4})?$` matches a ZIP code"));
    assert!(!has(FlagKind::Noise, "Table.", "", "| a | b |\n|---|---|\n| 1 | 2 |"));
    assert!(!has(FlagKind::Noise, "Fill in.", "Life is a _______, filled with ________.", "journey, adventures"));
    assert!(!has(FlagKind::Noise, "Pi?", "", "3.14159265358979"));
    // "§§" left between an answer and the next generated prompt, mid-text or before junk lines.
    assert!(has(FlagKind::Noise, "Intro?", "", "I can debug any issue. §§ I am great at teamwork."));
    assert!(has(FlagKind::Noise, "CRISPR?", "", "It opened new research.\n\n §§ 1100\n\n.\n.\n."));
    // A carol's refrain is not noise.
    assert!(!has(FlagKind::Noise, "Carol?", "", "Deck the halls with boughs of holly\nFa la la la la, la la la la"));
    // A legal reference to several sections is not noise.
    assert!(!has(FlagKind::Noise, "Cite it.", "", "See 42 U.S.C. §§ 1981-1983 of the civil rights code."));
    assert!(!has(FlagKind::Noise, "French?", "", "Le café est très bon, à bientôt."));
}

#[test]
fn flag_dataset_combines_record_and_duplicate_flags() {
    let texts = [
        RecordText { instruction: "Name a fruit.", input: "", output: "Apple." },
        RecordText { instruction: "name a  fruit.", input: "", output: "" },
    ];
    let all = crate::quality::flag_dataset(&texts, &FlagConfig::all_enabled());
    assert!(all[0].is_empty());
    let k: Vec<FlagKind> = all[1].iter().map(|f| f.kind).collect();
    assert_eq!(k, vec![FlagKind::EmptyResponse, FlagKind::Duplicate]);
}

#[test]
fn default_config_enables_exactly_the_flags_that_meet_the_precision_contract() {
    let cfg = FlagConfig::default();
    for k in FlagKind::ALL {
        let contract = crate::quality::precision::measured(k.name()).is_some_and(|m| m.meets_contract());
        assert_eq!(cfg.is_enabled(k), contract, "{k}");
    }
    // Off by default is not gone: a config turns a flag on.
    let cfg: FlagConfig = toml::from_str("enabled = [\"truncated\"]").unwrap();
    let r = RecordText {
        instruction: "Explain it.",
        input: "",
        output: "The reason is that the water flows down the hill and",
    };
    assert_eq!(flag_record(&r, &cfg)[0].kind, FlagKind::Truncated);
}

#[test]
fn dangling_list_marker_is_noise() {
    let out = "Keep it short.\nMake it specific.\n\n14.";
    assert!(
        flags("How to write a subject line", "", out)
            .iter()
            .any(|f| f.kind == FlagKind::Noise && f.reason == "response ends with an empty list item \"14.\"")
    );
    // A list that ends on a real item, or a bare number as the whole answer, is fine.
    assert!(!has(FlagKind::Noise, "List two tips.", "", "1. Be brief.\n2. Be clear."));
    assert!(!has(FlagKind::Noise, "How many legs has a spider?", "", "8."));
}

#[test]
fn missing_referent_and_formatting() {
    let d = flags("Complete this sentence for a travel blog post.", "", "Travel opens the mind.");
    assert!(d.iter().any(|f| f.kind == FlagKind::NeedsModality && f.reason.contains("\"this sentence\"")));
    // The referent is in the input, or in the instruction after or before the reference.
    assert!(!has(FlagKind::NeedsModality, "Complete this sentence.", "The sky is", "The sky is blue."));
    assert!(!has(FlagKind::NeedsModality, "Rewrite this sentence: the cat sat.", "", "The cat was seated."));
    assert!(!has(
        FlagKind::NeedsModality,
        "The cat sat. Rewrite this sentence in the future.",
        "",
        "The cat will sit."
    ));
    let d = flags("Delete the words in bold in this sentence.", "I am always happy to help.", "I am always to help.");
    assert!(d.iter().any(|f| f.kind == FlagKind::NeedsModality && f.reason.contains("in bold")));
    assert!(!has(FlagKind::NeedsModality, "Delete the words in bold.", "I am **always** happy.", "I am happy."));
}
