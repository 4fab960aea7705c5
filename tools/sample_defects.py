"""Hand-written defective records for the sample datasets: (defect, instruction, input, output, note).

Defect names are sift's FlagKind names plus `continuation` (a response that carries on the input passage
instead of doing the task; see make_samples.py, which builds those from sample_text.PASSAGES).
"""

DEFECTS = [
    # empty responses
    ("empty_response", "Name a famous bridge in San Francisco.", "", "", "output is empty"),
    ("empty_response", "Write a short description of a sunrise over the ocean.", "", "   \n", "output is whitespace"),
    ("empty_response", "Convert 5 kilometres to miles.", "", "", "output is empty"),
    # refusals and assistant boilerplate
    ("refusal", "What is your favourite book and why?", "",
     "As an AI language model, I don't have personal opinions or favourites. However, many readers love "
     "\"To Kill a Mockingbird\" for its moral courage.", "AI-identity boilerplate"),
    ("refusal", "Recommend a good stock to invest in this year.", "",
     "I'm sorry, but I cannot provide financial advice. Please consult a licensed financial adviser.",
     "refuses a harmless request"),
    ("refusal", "Tell me a joke about programmers.", "",
     "I'm sorry, but I can't help with that request.", "refuses a harmless request"),
    ("refusal", "What will the weather be like in Lisbon tomorrow?", "",
     "I don't have access to real-time weather data, so I cannot tell you tomorrow's forecast.",
     "real-time access boilerplate"),
    ("refusal", "Describe your ideal weekend.", "",
     "As an AI, I do not have personal experiences or weekends, but many people enjoy a mix of rest, time "
     "outdoors and meeting friends.", "AI-identity boilerplate"),
    # truncated responses
    ("truncated", "Explain how a refrigerator keeps food cold.", "",
     "A refrigerator works by pumping a refrigerant through a closed loop of pipes. Inside the fridge the "
     "refrigerant evaporates and absorbs heat from the food, and then the compressor squeezes the gas so that the",
     "stops mid-sentence"),
    ("truncated", "Write a Python function that reverses a list.", "",
     "```python\ndef reverse_list(items):\n    result = []\n    for item in items:\n        result.insert(0, item)\n",
     "code fence never closed"),
    ("truncated", "List the steps to make a cup of tea.", "",
     "1. Boil fresh water.\n2. Put a tea bag in a mug.\n3. Pour the hot water over the bag and let it steep for "
     "three to five minutes.\n4. Remove the bag and add milk or", "list item cut off"),
    ("truncated", "Describe the causes of the French Revolution.", "",
     "The French Revolution had several causes. The monarchy was deeply in debt after costly wars, and the tax "
     "burden fell mostly on ordinary people while the nobility and clergy paid little, and bad harvests in the "
     "late 1780s drove up the price of bread so that many families in Paris spent most of their income",
     "long paragraph stops without punctuation"),
    ("truncated", "Give an example of a simile and explain it.", "",
     "\"Her smile was as bright as the morning sun\" is a simile because it compares her smile to the sun using "
     "the word \"as\" (the comparison suggests warmth and", "open parenthesis at the end"),
    # placeholders
    ("placeholder", "Generate a list of three fruits that are high in vitamin C.", "<noinput>",
     "Oranges, kiwis and strawberries.", "input is <noinput>"),
    ("placeholder", "Write a short biography of a jazz trumpeter.", "", "<nooutput>", "output is <nooutput>"),
    ("placeholder", "Translate \"good morning\" into Italian.", "", "N/A", "output is N/A"),
    ("placeholder", "Name three breeds of dog.", "N/A", "Labrador retriever, beagle and border collie.", "input is N/A"),
    ("placeholder", "Summarize the following article in two sentences: {input}", "",
     "The article explains how cities are adding green roofs to cool buildings. It also notes that the roofs "
     "absorb rainwater and provide homes for insects.", "unfilled template variable in the instruction"),
    # other modalities
    ("needs_modality", "Describe the mood of this photo.", "",
     "The photo has a calm, nostalgic mood, with soft evening light and an empty beach.", "refers to an image"),
    ("needs_modality", "What is happening in the image below?", "",
     "Two children are flying a red kite in a park.", "refers to an image"),
    ("needs_modality", "Listen to the attached audio clip and write down what the speaker says.", "",
     "The speaker welcomes listeners to the show and introduces today's guest.", "needs audio"),
    ("needs_modality", "Visit https://example.org/annual-report and summarize its main findings.", "",
     "The report says revenue grew by ten percent and the company opened two new offices.", "must open a URL"),
    ("needs_modality", "Draw a picture of a cat sitting on a windowsill.", "",
     "A grey cat sits on a sunny windowsill, its tail curled around its paws.", "asks for an image as output"),
    # merged instructions
    ("merged_instructions", "Write a haiku about autumn. What is the capital of Australia?", "",
     "Red leaves drift and fall\nthe orchard smells of apples\nwind hums in bare trees\n\nThe capital of "
     "Australia is Canberra.", "two unrelated tasks in one instruction"),
    ("merged_instructions", "1. Translate \"cat\" into French.\n2. Name the largest ocean on Earth.", "",
     "1. Chat\n2. The Pacific Ocean", "numbered unrelated tasks"),
    ("merged_instructions",
     "Instruction: Give a synonym for \"happy\".\nOutput: joyful\nInstruction: Give an antonym for \"cold\".", "",
     "hot", "several instruction/output blocks glued together"),
    ("merged_instructions", "Explain what photosynthesis is. List three famous painters from Spain.", "",
     "Photosynthesis is the process by which plants use sunlight, water and carbon dioxide to make sugar and "
     "oxygen. Three famous Spanish painters are Pablo Picasso, Salvador Dali and Diego Velazquez.",
     "two unrelated tasks in one instruction"),
    # copies of the prompt
    ("copies_prompt", "Rewrite the sentence to make it more concise.",
     "In my personal opinion, I think that the meeting was really quite long.",
     "In my personal opinion, I think that the meeting was really quite long.", "output equals the input"),
    ("copies_prompt", "Explain why leaves change colour in autumn.", "",
     "Explain why leaves change colour in autumn.", "output repeats the instruction"),
    ("copies_prompt", "Identify the main idea of the following paragraph.",
     "Regular exercise strengthens the heart, improves mood and helps people sleep better. Even a short daily "
     "walk can lower the risk of many long-term illnesses.",
     "Regular exercise strengthens the heart, improves mood and helps people sleep better. Even a short daily "
     "walk can lower the risk of many long term illnesses", "output is the input, nearly verbatim"),
    # noise
    ("noise", "Recommend a café in Paris for breakfast.", "",
     "Try CafÃ© de Flore in Saint-Germain; its croissants and cafÃ© crÃ¨me are famous.", "mojibake"),
    ("noise", "Write a motivational quote.", "",
     "Keep going!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "long run of one character"),
    ("noise", "What is the speed of light?", "",
     "#@~ &&^ §§ ¤¤¤ ¦¦ ~~@@ ## ^^ ~~ &% 299 ¤¤ @@ ~#~ ¦", "symbol noise"),
    ("noise", "Name a primary colour.", "", "Red\u0007\u0000 is a primary colour.", "control characters"),
    # length ratio
    ("length_ratio", "Write an essay about the importance of clean drinking water.", "",
     "Clean water keeps people healthy.", "an essay in five words"),
    ("length_ratio", "Classify the sentiment of this tweet as positive or negative.", "Loving the new update!",
     "Positive. " + " ".join([
         "Sentiment analysis is the task of deciding whether a piece of text expresses a favourable or an "
         "unfavourable attitude. It is used by companies to track how customers feel about products, by "
         "researchers to study public opinion and by social media platforms to moderate content. Modern "
         "approaches rely on machine learning models trained on large collections of labelled examples, "
         "although simple word lists are still common. In this tweet, the word loving signals enthusiasm, and "
         "the exclamation mark adds emphasis. The phrase new update suggests the author is reacting to a "
         "software release, perhaps for a phone or an app they use every day. Because nothing in the tweet "
         "expresses disappointment, frustration or criticism, and because the overall tone is energetic, we "
         "can confidently conclude that the author is happy. Sentiment can of course be harder to judge when "
         "people use sarcasm, irony or mixed feelings, and then context about the author and the topic helps. "
         "Short texts like tweets are also tricky because they contain few words, emojis and slang."]),
     "one-word answer padded with 190 words"),
    ("length_ratio", "Explain how compound interest works.", "", "It grows.", "explanation in two words"),
]

# Records whose response merely continues the input passage (made from sample_text.PASSAGES).
CONTINUATION_PROMPTS = [
    "Summarize the following paragraph in one sentence.",
    "What is the main point of this passage?",
    "Write a title for the passage below.",
    "Summarise this text for a ten-year-old.",
]
