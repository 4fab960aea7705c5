use super::*;

/// The result of `kind` on the record, if that check applied.
fn result(kind: FlagKind, instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    run_checks(instruction, input, output).into_iter().find(|r| r.kind == kind)
}

/// The failure detail of `kind`, if the record fails it.
fn fails(kind: FlagKind, instruction: &str, input: &str, output: &str) -> Option<String> {
    result(kind, instruction, input, output).filter(|r| r.failed).map(|r| r.detail)
}

fn passes(kind: FlagKind, instruction: &str, input: &str, output: &str) -> bool {
    result(kind, instruction, input, output).is_some_and(|r| !r.failed)
}

#[test]
fn stand_in_inputs() {
    for input in
        ["No input", "<noinput>", "<NO INPUT>", "No input required.", "None", "N/A", "noinput", " - ", "<none>"]
    {
        let d =
            fails(FlagKind::StandInInput, "Name three influential technology entrepreneurs.", input, "Jobs, Gates.");
        assert!(d.is_some_and(|d| d.contains("stand-in")), "{input}");
    }
    // Real inputs, even short or negative-sounding ones, are not stand-ins.
    for input in ["", "None of the above", "No", "Nothing Else Matters by Metallica", "NASA", "Input: 5"] {
        assert!(fails(FlagKind::StandInInput, "Classify the text.", input, "Other.").is_none(), "{input}");
    }
    assert!(is_stand_in_input("No Input.") && !is_stand_in_input("No input is needed to enjoy a walk in the park."));
}

#[test]
fn template_variables() {
    let d = fails(
        FlagKind::TemplateVariable,
        "How would you improve this design?",
        "[Image of a logo]",
        "Use a bolder font.",
    );
    assert_eq!(d.as_deref(), Some("the input holds an unfilled template variable \"[Image of a logo]\""));
    assert!(
        fails(FlagKind::TemplateVariable, "Describe the sketch in six adjectives.", "<image>", "Majestic.").is_some()
    );
    assert!(fails(FlagKind::TemplateVariable, "Write a greeting.", "", "Dear {{name}}, welcome aboard!").is_some());
    assert!(fails(FlagKind::TemplateVariable, "Write a tweet.", "", "Big news! [Insert link here]").is_some());
    assert!(fails(FlagKind::TemplateVariable, "Write an ad.", "", "Our shoes <insert product name> fly.").is_some());
    // Code indexes, HTML, Jinja templates and sign-offs are not template variables.
    let no = [
        ("Sort the array.", "[4, 5, 2, 1, 3]", "for i in range(n):\n    if a[i] > a[j]:\n        swap(a, i, j)"),
        (
            "Write an HTML page.",
            "",
            "<html>\n<head><title>Hi</title></head>\n<body><img src=\"a.png\"></body>\n</html>",
        ),
        ("Write a Jinja template.", "", "<ul>\n{% for u in users %}\n<li>{{ user.name }}</li>\n{% endfor %}\n</ul>"),
        ("Write a regex for apple.", "", "/[Aa]pple/"),
        ("Replace the words in brackets with a synonym.", "He was [generous].", "He was kind."),
    ];
    for (c, z, y) in no {
        assert!(fails(FlagKind::TemplateVariable, c, z, y).is_none(), "{c}");
    }
}

#[test]
fn arithmetic_expressions() {
    let d = fails(FlagKind::Miscalculated, "What is 12 times 4?", "", "12 times 4 is 46.");
    assert_eq!(d.as_deref(), Some("12 * 4 = 48, but the response says 46"));
    assert!(passes(FlagKind::Miscalculated, "What is 12 times 4?", "", "48"));
    assert!(passes(FlagKind::Miscalculated, "Calculate (15 + 5) / 4.", "", "The result is 5."));
    assert!(fails(FlagKind::Miscalculated, "Evaluate 2^10 - 24", "", "1,024 - 24 = 1,010").is_some());
    assert!(passes(FlagKind::Miscalculated, "Compute 10 / 3", "", "approximately 3.33"));
    assert!(passes(FlagKind::Miscalculated, "Compute 10 / 3", "", "10/3"));
    // Not a calculation to answer: a program, algebra, dates, a number written in words, no number.
    assert!(
        result(FlagKind::Miscalculated, "Write a Python function that returns 3 + 4.", "", "def f(): return 8")
            .is_none()
    );
    assert!(
        result(FlagKind::Miscalculated, "Find the derivative with respect to x.", "y=5x^2 - 3x", "10x - 3.").is_none()
    );
    assert!(result(FlagKind::Miscalculated, "What happened on 12/25/2020?", "", "Christmas 2020.").is_none());
    assert!(result(FlagKind::Miscalculated, "What is 7 + 5?", "", "Twelve.").is_none());
    assert!(result(FlagKind::Miscalculated, "What is a 5 x 5 grid?", "", "A grid of 5 rows.").is_none());
}

#[test]
fn equations_and_percentages() {
    assert!(passes(FlagKind::Miscalculated, "Calculate the value of X for equation 2X+4=14", "", "X=5"));
    assert!(passes(
        FlagKind::Miscalculated,
        "Use the following numbers to solve the following equation.",
        "5x + 10 = 50",
        "x = 8"
    ));
    let d = fails(FlagKind::Miscalculated, "Solve for x: 3x - 7 = 11", "", "x = 5");
    assert_eq!(d.as_deref(), Some("solving 3x - 7 = 11 gives x = 6, but the response says 5"));
    // Two unknowns, or a quadratic, are not one-variable linear equations.
    assert!(result(FlagKind::Miscalculated, "Solve the equation.", "x + y = 6", "y = 6 - x").is_none());
    assert!(result(FlagKind::Miscalculated, "Solve x^2 = 16", "", "x = 4").is_none());
    assert!(fails(FlagKind::Miscalculated, "What is 15% of 240?", "", "15% of 240 is 32.").is_some());
    assert!(passes(FlagKind::Miscalculated, "What is 15% of 240?", "", "36"));
}

#[test]
fn unit_and_base_conversions() {
    assert!(passes(FlagKind::Miscalculated, "Convert 0.12 MT to KG.", "", "0.12 Metric Ton is equal to 120 KG."));
    assert!(passes(FlagKind::Miscalculated, "Calculate the temperature in Fahrenheit", "25°C", "77°F"));
    assert!(passes(FlagKind::Miscalculated, "Convert 10 miles to kilometers.", "", "10 miles is about 16.1 km."));
    let d = fails(FlagKind::Miscalculated, "Convert 5 feet to meters.", "", "5 feet is 1.8 meters.");
    assert_eq!(d.as_deref(), Some("converting 5 feet in meters = 1.524, but the response says 1.8"));
    assert!(passes(FlagKind::Miscalculated, "Convert 45 to binary.", "", "101101"));
    let d = fails(
        FlagKind::Miscalculated,
        "Convert the decimal number 10 to binary.",
        "",
        "The binary form of 10 is 1100.",
    );
    assert_eq!(d.as_deref(), Some("converting 10 (decimal) in binary gives 1010, but the response says 1100"));
    assert!(passes(FlagKind::Miscalculated, "Convert this binary number to decimal.", "101101", "45"));
    assert!(passes(FlagKind::Miscalculated, "Convert 255 to hexadecimal.", "", "0xFF"));
    let bits = "01001000011001010110110001101100011011110010000001110111011011110111001001101100011001000";
    let bits = &bits[..88];
    let d = fails(FlagKind::Miscalculated, "Convert the following binary string to text.", bits, "Hello");
    assert_eq!(
        d.as_deref(),
        Some("the 11-byte binary string decodes to \"Hello world\", but the response says \"Hello\"")
    );
    assert!(passes(FlagKind::Miscalculated, "Convert the following binary string to text.", bits, "Hello world"));
    // Text conversions are no arithmetic.
    assert!(
        result(
            FlagKind::Miscalculated,
            "Convert the sentence to camel case.",
            "the cat and the dog",
            "theCatAndTheDog"
        )
        .is_none()
    );
    assert!(
        result(FlagKind::Miscalculated, "Convert this text into Pig Latin", "I am running", "Iway amway").is_none()
    );
}

#[test]
fn word_and_sentence_counts() {
    let d = fails(
        FlagKind::CountMismatch,
        "Write a 10-word sentence about the sea.",
        "",
        "The sea is wide and deep today.",
    );
    assert_eq!(d.as_deref(), Some("asked for 10 words, has 7"));
    assert!(passes(FlagKind::CountMismatch, "Describe autumn in 5 words.", "", "Crisp, golden, fading, quiet, cozy."));
    assert!(passes(
        FlagKind::CountMismatch,
        "Rewrite the sentence using less than 8 words",
        "This place is not the place I expected",
        "Not the place I hoped."
    ));
    assert!(
        fails(
            FlagKind::CountMismatch,
            "Summarize it in under 10 words.",
            "",
            "This is a long summary that goes on and on past ten words."
        )
        .is_some()
    );
    let story = "John was at a dinner. They announced his name. He was stunned. He walked up. He thanked everyone.";
    let d = fails(FlagKind::CountMismatch, "Generate a 3-4 sentence story about an unexpected award.", "", story);
    assert_eq!(d.as_deref(), Some("asked for 3-4 sentences, has 5"));
    assert!(passes(
        FlagKind::CountMismatch,
        "Summarize the plot in one sentence.",
        "",
        "Dr. Smith saves the U.S. economy by 5 p.m. on Friday."
    ));
    // Items, not length; the input's sentences; several counts; a list of words.
    // "10 words that rhyme" counts items, not the response's length.
    let d = fails(FlagKind::CountMismatch, "Generate a list of 10 words that rhyme with cat.", "", "bat, hat, mat");
    assert_eq!(d.as_deref(), Some("asked for 10 words, has 3"));
    assert!(result(FlagKind::CountMismatch, "Combine the following two sentences.", "A. B.", "A and B.").is_none());
    assert!(passes(
        FlagKind::CountMismatch,
        "Use 3 nouns and 2 verbs in a 10-word sentence.",
        "",
        "The quick dog chased a red ball across the park."
    ));
}

#[test]
fn item_and_paragraph_counts() {
    let d = fails(
        FlagKind::CountMismatch,
        "Add 10 words that start with the letter ‘M’ to the given list.",
        "bank, car, tree",
        "bank, car, tree, muffin, museum, melody, magnet, mascot, mop, machete, mattress",
    );
    assert_eq!(d.as_deref(), Some("asked for 10 words, has 8"));
    assert!(passes(
        FlagKind::CountMismatch,
        "Name three influential technology entrepreneurs.",
        "",
        "Steve Jobs, Mark Zuckerberg, Bill Gates."
    ));
    let d = fails(
        FlagKind::CountMismatch,
        "List 5 tips for effective job hunting.",
        "",
        "1. Network.\n2. Polish your resume.\n3. Practice interviews.\n4. Follow up.",
    );
    assert_eq!(d.as_deref(), Some("asked for 5 tips, has 4"));
    assert!(passes(
        FlagKind::CountMismatch,
        "Give three tips for someone moving to a new city.",
        "",
        "1. Explore.\n   - walk around\n2. Meet people.\n3. Find a routine."
    ));
    // Prose cannot be counted reliably: no verdict.
    assert!(result(FlagKind::CountMismatch, "Name 3 ways AI will change healthcare.", "", "AI has the potential to change healthcare in many ways. First, diagnosis becomes faster and cheaper for everyone involved.").is_none());
    let two = "Dogs are loyal.\n\nCats are independent.";
    assert_eq!(
        fails(FlagKind::CountMismatch, "Write three paragraphs about pets.", "", two).as_deref(),
        Some("asked for 3 paragraphs, has 2")
    );
}

#[test]
fn haiku_syllables() {
    let d = fails(
        FlagKind::CountMismatch,
        "Compose a haiku with the theme of nature.",
        "",
        "Autumn leaves rustle,\nA cool breeze in the air,\nThe birds in the trees.",
    );
    assert_eq!(d.as_deref(), Some("asked for a haiku (5-7-5 syllables); line 2 has 6: \"A cool breeze in the air,\""));
    assert!(passes(
        FlagKind::CountMismatch,
        "Write a haiku about rain.",
        "",
        "Grey roofs drum softly\nthe gutters sing to the street\nan umbrella blooms"
    ));
    // Several haiku, or an explanation of one, are not judged.
    assert!(result(FlagKind::CountMismatch, "Write two haikus about snow.", "", "a\nb\nc").is_none());
}

#[test]
fn form_constraints() {
    let d = fails(
        FlagKind::FormMismatch,
        "Create a metaphor to illustrate the importance of perseverance.",
        "",
        "Perseverance is like a spark that starts a fire.",
    );
    assert_eq!(
        d.as_deref(),
        Some("asked for a metaphor, but the response is a simile: \"is like a spark that starts a fire\"")
    );
    assert!(passes(
        FlagKind::FormMismatch,
        "Generate a metaphor for time.",
        "",
        "Time is a thief that steals our days."
    ));
    assert!(
        result(
            FlagKind::FormMismatch,
            "Describe the color red in a metaphorical way.",
            "",
            "Red is like the rising sun."
        )
        .is_none()
    );
    assert!(
        result(
            FlagKind::FormMismatch,
            "Classify this sentence as a simile or a metaphor.",
            "The moon was a light.",
            "Metaphor."
        )
        .is_none()
    );
    assert_eq!(
        fails(FlagKind::FormMismatch, "Answer in one word: what color is the sky?", "", "The sky is blue.").as_deref(),
        Some("asked for one word, has 4")
    );
    assert!(passes(FlagKind::FormMismatch, "Describe the movie in one word.", "", "Thrilling!"));
    assert!(
        fails(FlagKind::FormMismatch, "Rewrite the title in all caps.", "the big sleep", "The Big Sleep").is_some()
    );
    assert!(passes(FlagKind::FormMismatch, "Rewrite the title in all caps.", "the big sleep", "THE BIG SLEEP"));
    assert!(fails(FlagKind::FormMismatch, "Translate 'good morning' into Japanese.", "", "Ohayou gozaimasu").is_some());
    assert!(passes(FlagKind::FormMismatch, "Translate 'good morning' into Japanese.", "", "おはようございます"));
    assert!(result(FlagKind::FormMismatch, "Translate 'good morning' into French.", "", "Bonjour").is_none());
}

#[test]
fn code_syntax() {
    let bad = "```json\n{\"name\": \"Ann\", \"age\": 30,}\n```";
    assert!(
        fails(FlagKind::CodeSyntax, "Describe a person.", "", bad)
            .is_some_and(|d| d.contains("does not parse as JSON"))
    );
    assert!(passes(
        FlagKind::CodeSyntax,
        "Represent the data in JSON format.",
        "Ann, 30",
        "{\"name\": \"Ann\", \"age\": 30}"
    ));
    assert!(
        fails(FlagKind::CodeSyntax, "Represent the data in JSON format.", "Ann, 30", "{name: Ann, age: 30}").is_some()
    );
    let rust_ok = "```rust\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```";
    assert!(passes(FlagKind::CodeSyntax, "Write a function.", "", rust_ok));
    let rust_bad = "```rust\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n```";
    assert!(fails(FlagKind::CodeSyntax, "Write a function.", "", rust_bad).is_some());
    assert!(passes(
        FlagKind::CodeSyntax,
        "Write Rust code to print hi.",
        "",
        "```\nlet x = 5;\nprintln!(\"{x}\");\n```"
    ));
    // Other languages, and prose mentioning JSON, are not judged.
    assert!(result(FlagKind::CodeSyntax, "Write Python code.", "", "```python\ndef f(:\n```").is_none());
    assert!(result(FlagKind::CodeSyntax, "What is JSON?", "", "JavaScript Object Notation.").is_none());
}

#[test]
fn api_reports_passing_checks_too() {
    let r = run_checks("What is 12 times 4?", "", "48");
    assert_eq!(r.len(), 1);
    assert!(!r[0].failed && r[0].value == 0.0 && r[0].kind == FlagKind::Miscalculated);
    assert!(run_checks("Tell me a joke.", "", "Why did the chicken cross the road?").is_empty());
}

#[test]
fn similes_are_counted_by_their_markers() {
    let ask = "Add at least five similes to the sentence: The rain fell.";
    let four = "The rain fell like tears, as hard as stones, in sheets, like a curtain, like drums.";
    let d = fails(FlagKind::CountMismatch, ask, "", four);
    assert!(d.is_some_and(|d| d.contains("asked for at least 5 similes, has 4")));
    let six = "The rain fell like tears, like stones, like a curtain, as loud as drums, as cold as ice, like glass.";
    assert!(passes(FlagKind::CountMismatch, ask, "", six), "at least five admits six");
    // "I like" is the verb, not a simile marker, in the strict count.
    let list = "1. Her laugh is like bells.\n2. I like how he runs as fast as a hare.\n3. Quiet as a mouse.";
    assert!(passes(FlagKind::CountMismatch, "Give three similes.", "", list));
}

#[test]
fn at_least_n_items_admits_more() {
    let seven = "1. Apple\n2. Pear\n3. Plum\n4. Fig\n5. Kiwi\n6. Lime\n7. Date";
    assert!(passes(FlagKind::CountMismatch, "List at least 5 fruits.", "", seven));
    let d = fails(FlagKind::CountMismatch, "List 5 fruits.", "", seven);
    assert!(d.is_some_and(|d| d.contains("asked for 5 fruits, has 7")));
}

#[test]
fn spoken_duration_is_measured_in_words() {
    let ask = "Write a 5-minute speech about recycling.";
    let short = "Recycling matters. ".repeat(40); // 80 words: under a minute even read slowly
    let d = fails(FlagKind::CountMismatch, ask, "", &short);
    assert!(d.is_some_and(|d| d.contains("asked for a 5-minute speech; its 80 words")), "{short}");
    let fitting = "word ".repeat(650);
    assert!(passes(FlagKind::CountMismatch, ask, "", &fitting));
    // An outline of a speech is not the speech.
    assert!(result(FlagKind::CountMismatch, "Write a 5-minute speech outline on trees.", "", &short).is_none());
}

#[test]
fn misspelt_metaphor_is_still_a_metaphor_ask() {
    let d = fails(FlagKind::FormMismatch, "Create a metapher about hope.", "", "Hope is like a lamp in the dark.");
    assert!(d.is_some_and(|d| d.contains("asked for a metaphor")));
    assert!(passes(FlagKind::FormMismatch, "Create a metapher about hope.", "", "Hope is a lamp in the dark."));
}

#[test]
fn implicit_multiplication_before_a_bracket() {
    let ask = "Calculate the following mathematical expression: 4 + 5(6-3).";
    assert!(passes(FlagKind::Miscalculated, ask, "", "4 + 5(3) = 4 + 15 = 19."));
    let d = fails(FlagKind::Miscalculated, "Evaluate the below math equation.", "(2+3)(3-2)", "It evaluates to 3.");
    assert!(d.is_some_and(|d| d.contains("(2+3)(3-2) = 5, but the response says 3")));
}

#[test]
fn blanks_for_particulars_are_template_variables() {
    let d = fails(FlagKind::TemplateVariable, "Write a letter of resignation.", "", "Dear [Employer Name],\nI resign.");
    assert!(d.is_some_and(|d| d.contains("[Employer Name]")), "an employer's name left blank");
    assert!(fails(FlagKind::TemplateVariable, "Create a headline.", "", "Meet the [Car Name]!").is_some());
    // Asked for a template: blanks are the answer. Brackets around real words are not blanks.
    assert!(fails(FlagKind::TemplateVariable, "Write an email template.", "", "Hi [Name],").is_none());
    assert!(fails(FlagKind::TemplateVariable, "Explain arrays.", "", "a[0] is the first [index] value").is_none());
}

#[test]
fn poem_lines_are_counted() {
    let twelve = "a\n".repeat(12);
    let d = fails(FlagKind::CountMismatch, "Write an original poem that has 8 lines.", "", &twelve);
    assert!(d.is_some_and(|d| d.contains("asked for 8 lines, has 11-12")), "a first line may be a title");
    let four = "Roses bloom,\nrain falls,\nsun returns,\nall is well.";
    assert!(passes(FlagKind::CountMismatch, "Write a 4-line poem about spring.", "", four));
    assert!(result(FlagKind::CountMismatch, "Write a 4-line poem about spring.", "", "One line only.").is_none());
}

#[test]
fn counts_read_the_english_way_stay_silent_on_other_scripts() {
    // Chinese is written without spaces and ends sentences with 。: counted the English way, this
    // would be "asked for 10 words, has 1".
    let zh = "今天天气很好，阳光明媚，我们去公园散步吧。";
    assert!(fails(FlagKind::CountMismatch, "Write a 10-word sentence about the weather in Chinese.", "", zh).is_none());
    assert!(result(FlagKind::CountMismatch, "Answer in exactly two sentences.", "", zh).is_none());
    let ar = "الطقس جميل اليوم والشمس مشرقة";
    assert!(result(FlagKind::CountMismatch, "Write a haiku about the sun in Arabic.", "", ar).is_none());
    assert!(result(FlagKind::FormMismatch, "Answer in one word.", "", zh).is_none());
    // Lines and list items are counted in any script; the script check still reads the script.
    let list = "1. 苹果\n2. 香蕉\n3. 橙子";
    assert!(fails(FlagKind::CountMismatch, "List 5 fruits in Chinese.", "", list).is_some_and(|d| d.contains("has 3")));
    assert!(passes(FlagKind::FormMismatch, "Translate the sentence into Chinese.", "Good morning", zh));
    // English is counted as before.
    assert!(fails(FlagKind::CountMismatch, "Write a 10-word sentence about rain.", "", "Rain falls softly.").is_some());
}

#[test]
fn given_items_are_checked_in_the_asked_order() {
    let k = FlagKind::Miscalculated;
    let d = fails(k, "Order these numbers from least to greatest: 3/4, 1/2, 5/8.", "", "1/2, 3/4, 5/8");
    assert_eq!(
        d.as_deref(),
        Some("asked to order 3 least to greatest: 1/2, 5/8, 3/4, but the response gives 1/2, 3/4, 5/8")
    );
    assert!(passes(k, "Order these numbers from least to greatest: 3/4, 1/2, 5/8.", "", "1/2, 5/8, 3/4"));
    assert!(passes(
        k,
        "Sort the words in alphabetical order.",
        "pear, apple, fig",
        "The sorted list is: apple, fig, pear."
    ));
    assert!(fails(k, "Sort the words in alphabetical order.", "pear, apple, fig", "apple, pear, fig").is_some());
    // Descending, one item a line.
    assert!(passes(k, "Arrange in descending order.", "4, 10, 7", "10\n7\n4"));
    // An algorithm is not judged by the order of its first step's list.
    assert!(
        result(k, "Write an algorithm to sort the list in ascending order.", "3, 1, 2", "Step 1: take 3, 1, 2")
            .is_none()
    );
}

#[test]
fn a_given_texts_length_is_counted() {
    let k = FlagKind::Miscalculated;
    let d = fails(k, "Count the number of words in the sentence.", "The cat sat on the mat.", "There are 5 words.");
    assert_eq!(d.as_deref(), Some("the given text \"The cat sat on the mat.\" has 6 words, but the response says 5"));
    assert!(passes(k, "Count the number of words in the sentence.", "The cat sat on the mat.", "6"));
    // Characters with or without spaces both count.
    assert!(passes(k, "How many characters are in this string?", "ab cd", "4"));
    assert!(passes(k, "How many characters are in this string?", "ab cd", "5"));
    // "y" may or may not count as a vowel: "banana y" has 3 or 4.
    assert!(passes(k, "How many vowels are in the text?", "banana y", "3"));
    assert!(passes(k, "How many vowels are in the text?", "banana y", "4"));
    assert!(fails(k, "How many vowels are in the text?", "banana y", "6").is_some());
    // Counts of some of the words are not the text's length.
    assert!(result(k, "Count the words containing the letter e.", "green tree by the sea", "3").is_none());
}

#[test]
fn morse_and_anagrams_are_decoded() {
    let k = FlagKind::Miscalculated;
    assert!(passes(k, "Convert the text to Morse code.", "SOS", "... --- ..."));
    let d = fails(k, "Convert the text to Morse code.", "SOS", "... .-- ...").unwrap();
    assert!(d.contains("reads SWS"), "{d}");
    assert!(passes(k, "Create an anagram of the given word.", "listen", "Silent"));
    // A longer answer naming several candidate words is not judged.
    let several = "Some words of six letters: tables, chairs and others that come to mind when you think about it";
    assert!(result(k, "Create an anagram of the given word.", "listen", several).is_none());
    assert!(fails(k, "Create an anagram of the given word.", "listen", "Lintel").is_some());
}

#[test]
fn estimates_allow_a_tenth_and_dashes_are_minus() {
    let k = FlagKind::Miscalculated;
    assert!(passes(k, "Estimate the value of 7/3 + 1.", "", "About 3.3"));
    assert!(fails(k, "Estimate the value of 7/3 + 1.", "", "5").is_some());
    assert!(fails(k, "Solve the equation.", "3x – 4 = 11", "x = 6").is_some());
    assert!(passes(k, "Solve the equation.", "3x – 4 = 11", "x = 5"));
    assert!(fails(k, "Perform the following arithmetic operation.", "(2+3)*4", "24").is_some());
}

#[test]
fn tweets_fit_and_haiku_have_three_lines() {
    let long = "word ".repeat(70);
    let d = fails(FlagKind::CountMismatch, "Write a tweet about the weather.", "", &long).unwrap();
    assert!(d.starts_with("asked for a tweet, which holds 280 characters; the response has 349"), "{d}");
    assert!(passes(FlagKind::CountMismatch, "Write a tweet about the weather.", "", "Sunny again! #weather"));
    let d = fails(
        FlagKind::CountMismatch,
        "Construct a haiku about the sea.",
        "",
        "The waves roll in slowly over the sand while the gulls cry above the water",
    )
    .unwrap();
    assert!(d.contains("the response is one line"), "{d}");
}

#[test]
fn letter_slots_are_not_template_variables_but_a_blank_headline_is() {
    let letter = format!("Dear [Name],\n\n{}\n\nSincerely,\n[Your Name]", "Thank you for your help. ".repeat(8));
    assert!(result(FlagKind::TemplateVariable, "Write a thank-you letter.", "", &letter).is_none());
    assert!(
        fails(FlagKind::TemplateVariable, "Write a headline for a new phone.", "", "Meet the new [Product Name]!")
            .is_some()
    );
    assert!(fails(FlagKind::TemplateVariable, "Describe the picture.", "[Image]", "A dog.").is_some());
}

#[test]
fn formulas() {
    let d = fails(
        FlagKind::Miscalculated,
        "Find the volume of a cylinder with a radius of 3 m and a height of 4 m.",
        "",
        "The volume is 100 m3.",
    );
    assert_eq!(
        d.as_deref(),
        Some("by formula, the volume of the cylinder (r = 3, h = 4) = 113.0973, but the response says 100")
    );
    // π as 3.14 agrees.
    assert!(passes(
        FlagKind::Miscalculated,
        "What is the volume of a cone whose base is 6 inches in diameter and whose height is 10 inches?",
        "",
        "About 94.2 cubic inches."
    ));
    assert!(passes(
        FlagKind::Miscalculated,
        "Calculate the area of a circle.",
        "Radius: 2",
        "The area is 12.57 square units."
    ));
    let d = fails(
        FlagKind::Miscalculated,
        "Compute the area of the triangle with vertices (0, 0), (4, 0) and (0, 3).",
        "",
        "The area is 12 square units.",
    );
    assert_eq!(
        d.as_deref(),
        Some("by the shoelace formula, the area of the triangle with those vertices = 6, but the response says 12")
    );
    assert!(passes(
        FlagKind::Miscalculated,
        "Compute the area of the triangle with vertices (0, 0), (4, 0) and (0, 3).",
        "",
        "It is 6."
    ));
    // Newton's law, with the answer in scientific notation.
    let ask =
        "Calculate the gravitational force between two balls with masses of 3 kg and 5 kg that are 2 meters apart.";
    assert!(passes(FlagKind::Miscalculated, ask, "", "F = 2.50 x 10^-10 N."));
    assert!(passes(FlagKind::Miscalculated, ask, "", "About 2.5e-10 newtons."));
    assert_eq!(
        fails(FlagKind::Miscalculated, ask, "", "The force is 9.8 N.").as_deref(),
        Some("by Newton's law, the force G*3*5/2^2 in newtons = 2.503e-10, but the response says 9.8")
    );
    // A radius and a diameter that disagree, or no radius: no verdict.
    assert!(
        result(FlagKind::Miscalculated, "Find the area of a circle with radius 2 and diameter 5.", "", "It is 3.")
            .is_none()
    );
    assert!(
        result(
            FlagKind::Miscalculated,
            "Write a program that finds the volume of a sphere of radius 2.",
            "",
            "def v(r): return 4"
        )
        .is_none()
    );
}

#[test]
fn number_words_to_digits() {
    let d = fails(FlagKind::Miscalculated, "Convert the number to digits.", "Two thousand and five", "2500");
    assert_eq!(d.as_deref(), Some("converting 'Two thousand and five' to digits = 2005, but the response says 2500"));
    assert!(passes(FlagKind::Miscalculated, "Write this number in numerals.", "three hundred forty-two", "342"));
    assert!(passes(FlagKind::Miscalculated, "Convert it.", "a million and one", "1,000,001"));
    // Another kind of number, or not all number words: no verdict.
    assert!(result(FlagKind::Miscalculated, "Convert the number to binary.", "twelve and one", "1101").is_none());
    assert!(result(FlagKind::Miscalculated, "Convert to digits.", "two apples", "2").is_none());
}

#[test]
fn compositions() {
    let ask = "Create a password with 3 digits and 2 symbols.";
    assert_eq!(
        fails(FlagKind::CountMismatch, ask, "", "ab1c2!?").as_deref(),
        Some("asked for a password with 3 digits, has 2")
    );
    assert!(passes(FlagKind::CountMismatch, ask, "", "Your password: `x1y2z3#$`"));
    // "one number" is a minimum; the length is exact, a range is not one count.
    assert!(passes(
        FlagKind::CountMismatch,
        "Generate a password of 8 characters with one number and one symbol.",
        "",
        "Kp4#trWq"
    ));
    assert_eq!(
        fails(
            FlagKind::CountMismatch,
            "Generate a password of 8 characters with one number.",
            "",
            "The password is Kp4trWq."
        )
        .as_deref(),
        Some("asked for a password with 8 characters, has 7")
    );
    assert!(passes(FlagKind::CountMismatch, "Make a password of 6-10 characters with one digit.", "", "abcdefg1"));
    let group = "Sort these into three categories: apple, carrot, salmon, pear";
    assert_eq!(
        fails(FlagKind::CountMismatch, group, "", "Fruit: apple, pear\nVegetable: carrot, salmon").as_deref(),
        Some("asked for 3 groups, has 2")
    );
    assert!(passes(
        FlagKind::CountMismatch,
        group,
        "",
        "Fruit:\n- apple\n- pear\nVegetable:\n- carrot\nFish:\n- salmon"
    ));
    assert!(result(FlagKind::CountMismatch, group, "", "The apple and pear are fruit, the rest are not.").is_none());
    let few = "Suggest a few ways to introduce a talk on rivers.";
    assert!(
        fails(
            FlagKind::CountMismatch,
            few,
            "",
            "Rivers shape every city we love. Today we follow one from source to sea."
        )
        .is_some()
    );
    assert!(result(FlagKind::CountMismatch, few, "", "1. Start with a map.\n2. Ask a question.").is_none());
    assert!(
        result(FlagKind::CountMismatch, few, "", "Open with a story; or you could ask the audience a question.")
            .is_none()
    );
    let routine = "Design a 20-minute workout routine.";
    let short = "1. 5 minutes of jogging\n2. 2 minutes of squats\n3. 1 minute of planks";
    assert_eq!(
        fails(FlagKind::CountMismatch, routine, "", short).as_deref(),
        Some("asked for a 20-minute workout routine, its steps add up to 8.0 minutes")
    );
    assert!(passes(
        FlagKind::CountMismatch,
        routine,
        "",
        "1. 5 minutes of jogging\n2. 10 minutes of squats\n3. 5 minutes of stretching"
    ));
    assert!(
        result(
            FlagKind::CountMismatch,
            routine,
            "",
            "1. 5 minutes of jogging\n2. 2 minutes of squats\n3. 1 minute of planks\nRepeat twice."
        )
        .is_none()
    );
}
