"""Hand-written record texts for the sample datasets (original writing, free to use).

Each clean item is (instruction, input, output). Defect items carry the defect name and a note.
make_samples.py distributes them over the five sample files.
"""

# ---------------------------------------------------------------- clean: general knowledge
KNOWLEDGE = [
    ("What causes the seasons on Earth?", "",
     "The seasons are caused by the tilt of Earth's axis, about 23.4 degrees. As Earth orbits the Sun, "
     "each hemisphere leans toward the Sun for part of the year, receiving more direct sunlight and longer "
     "days (summer), and leans away for the other part (winter). The distance to the Sun changes only "
     "slightly and is not the cause."),
    ("Who wrote the novel \"Pride and Prejudice\"?", "", "Jane Austen wrote \"Pride and Prejudice\", published in 1813."),
    ("Why do cats purr?", "",
     "Cats purr mostly when they are relaxed, but also when they are stressed, hurt or giving birth. "
     "Researchers think purring is a form of communication and self-soothing, and the low vibration may even "
     "help bones and tissue heal."),
    ("What is the boiling point of water at sea level in Fahrenheit?", "", "212 degrees Fahrenheit."),
    ("Name the largest planet in our solar system.", "", "Jupiter."),
    ("What is the difference between weather and climate?", "",
     "Weather is the state of the atmosphere at a given place and time: today's rain, wind or heat. Climate "
     "is the average pattern of weather in a region over a long period, usually thirty years or more."),
    ("How many bones are in the adult human body?", "", "An adult human has 206 bones."),
    ("Explain what a leap year is.", "",
     "A leap year has 366 days instead of 365, with an extra day added on 29 February. It keeps the calendar "
     "aligned with Earth's orbit, which takes about 365.24 days. Years divisible by 4 are leap years, except "
     "century years, which must also be divisible by 400."),
    ("Which gas do plants absorb from the air for photosynthesis?", "", "Carbon dioxide (CO2)."),
    ("What does DNA stand for?", "", "Deoxyribonucleic acid."),
    ("Give three reasons why sleep is important for teenagers.", "",
     "1. Sleep consolidates memory, so what was learned during the day is retained.\n"
     "2. It supports physical growth and a healthy immune system.\n"
     "3. Enough sleep improves mood and concentration, which reduces accidents and stress."),
    ("What is the tallest mountain in Africa?", "", "Mount Kilimanjaro in Tanzania, at about 5,895 metres."),
    ("Describe how a rainbow forms.", "",
     "A rainbow forms when sunlight enters raindrops, bends (refracts), reflects off the back of each drop and "
     "bends again on the way out. Because each colour bends by a slightly different amount, white light is "
     "spread into a band of colours, which we see when the Sun is behind us."),
    ("What is the capital of Canada?", "", "Ottawa."),
    ("Why is the sea salty?", "",
     "Rain slowly dissolves minerals from rocks on land, and rivers carry these salts to the sea. When seawater "
     "evaporates the salt stays behind, so over millions of years it has built up to about 3.5 percent."),
    ("Who painted the ceiling of the Sistine Chapel?", "", "Michelangelo, between 1508 and 1512."),
    ("What are the three states of matter most people learn about in school?", "", "Solid, liquid and gas."),
    ("How does a vaccine protect the body?", "",
     "A vaccine shows the immune system a harmless version or piece of a germ. The body makes antibodies and "
     "memory cells against it, so if the real germ arrives later the immune system recognises it and responds "
     "quickly, before the person becomes seriously ill."),
    ("What is the longest river in South America?", "", "The Amazon River."),
    ("List four renewable sources of energy.", "", "- Solar power\n- Wind power\n- Hydroelectric power\n- Geothermal energy"),
    ("What is inflation in economics?", "",
     "Inflation is a general rise in prices over time, which means each unit of money buys fewer goods and "
     "services. It is usually measured as the yearly percentage change in a consumer price index."),
    ("In which year did the first person walk on the Moon?", "", "1969, when Neil Armstrong stepped onto the Moon during Apollo 11."),
    ("What is the chemical symbol for gold?", "", "Au"),
    ("Suggest three ways to reduce food waste at home.", "",
     "1. Plan meals for the week and shop with a list.\n2. Store leftovers in clear containers so they are "
     "easy to see and eat first.\n3. Freeze bread, fruit and cooked meals before they go off."),
    ("What is the main function of red blood cells?", "",
     "Red blood cells carry oxygen from the lungs to the body's tissues and bring carbon dioxide back to the "
     "lungs, using the protein haemoglobin."),
    ("Why do we see lightning before we hear thunder?", "",
     "Light travels about a million times faster than sound, so the flash reaches us almost instantly while "
     "the sound of thunder takes roughly three seconds to cover each kilometre."),
    ("Name two instruments in the woodwind family.", "", "The flute and the clarinet."),
    ("What is a haiku?", "",
     "A haiku is a short Japanese poem of three lines with five, seven and five syllables, often about nature "
     "or a single moment."),
    ("How many continents are there, and what are they?", "",
     "There are seven: Africa, Antarctica, Asia, Australia (Oceania), Europe, North America and South America."),
    ("What does a thermometer measure?", "", "Temperature."),
]

# ---------------------------------------------------------------- clean: writing
WRITING = [
    ("Write a haiku about the first snow of winter.", "",
     "Soft flakes drift and fall\nthe garden forgets its paths\none crow, black on white"),
    ("Write a short thank-you note to a neighbour who watered my plants while I was away.", "",
     "Dear Mrs. Patel,\n\nThank you so much for looking after my plants while I was away. They look happier "
     "than when I left them! I brought you a small jar of honey from the trip as a thank-you.\n\nWarm wishes,\nSam"),
    ("Write a product description for a reusable stainless steel water bottle.", "",
     "Stay hydrated anywhere with our 750 ml stainless steel bottle. Double-wall insulation keeps drinks cold "
     "for 24 hours or hot for 12, and the leak-proof lid fits in any bag. It is free of BPA, easy to clean and "
     "built to replace hundreds of plastic bottles."),
    ("Write an opening sentence for a mystery story set in a lighthouse.", "",
     "The lamp had turned every night for ninety years, so when the lighthouse went dark on the night of the "
     "storm, everyone in the village knew something had happened to old Tomas."),
    ("Compose a short poem about a city at night.", "",
     "The streetlights hum a yellow tune,\nthe buses sigh and sleep,\nabove the roofs a patient moon\n"
     "keeps watch while windows keep\ntheir small and private fires lit,\nthe city dreaming, bit by bit."),
    ("Write an email politely declining an invitation to a colleague's birthday dinner.", "",
     "I'm sorry, but I cannot make it to your birthday dinner on Friday. I already promised to help my sister "
     "move that evening. I hope you have a wonderful time, and I would love to take you out for a coffee next "
     "week to celebrate.\n\nBest wishes,\nLena"),
    ("Write a two-sentence horror story.", "",
     "I heard my mother call me from the kitchen, so I ran downstairs. Halfway there, she pulled me into the "
     "cupboard and whispered, \"I heard it too.\""),
    ("Create a slogan for a community bike-sharing program.", "", "Ride together, breathe easier."),
    ("Write a short paragraph persuading people to visit their local library.", "",
     "Your local library is one of the last places where you can spend a whole afternoon without spending a "
     "penny. Beyond free books, most libraries lend e-books, films and even tools, run reading groups and "
     "coding clubs, and offer quiet desks with fast internet. Visit this week and see what your membership "
     "card can open up for you."),
    ("Write a limerick about a forgetful cat.", "",
     "There once was a cat named Lou\nwho forgot what she wanted to do;\nshe would sit by the door\n"
     "then forget what it's for,\nand go back to her nap for an hour or two."),
    ("Write a short story for children about a turtle who wants to fly.", "",
     "Tilly the turtle watched the swallows every morning and wished she could join them. One day she asked "
     "the oldest swallow to teach her. \"Turtles don't fly,\" he said kindly, \"but come with me.\" He led "
     "her to the river, where Tilly slid into the water and glided between the reeds, quick and weightless. "
     "\"This,\" laughed the swallow, \"is how turtles fly.\" From then on Tilly swam every morning, and the "
     "swallows flew low over the water to race her."),
    ("Write a tweet announcing that a bakery now sells gluten-free bread.", "",
     "Big news from the oven! Our new gluten-free sourdough is here, baked fresh every morning. Come by and "
     "try a slice on us this weekend. #GlutenFree #FreshBread"),
]

# ---------------------------------------------------------------- clean: coding
CODING = [
    ("Write a Python function that checks whether a string is a palindrome.", "",
     "```python\ndef is_palindrome(s: str) -> bool:\n    cleaned = [c.lower() for c in s if c.isalnum()]\n"
     "    return cleaned == cleaned[::-1]\n```\n\nIt ignores case, spaces and punctuation, so "
     "`is_palindrome(\"A man, a plan, a canal: Panama\")` returns `True`."),
    ("Write a SQL query that returns the five most expensive products from a table named products.", "",
     "```sql\nSELECT name, price\nFROM products\nORDER BY price DESC\nLIMIT 5;\n```"),
    ("Explain the difference between a list and a tuple in Python.", "",
     "Both hold ordered sequences of items. A list is mutable: you can add, remove or change elements after "
     "creating it. A tuple is immutable, so its contents cannot change, which makes it hashable (usable as a "
     "dictionary key) and signals that the data is fixed."),
    ("Find the bug in this JavaScript function.", "function sum(arr) {\n  let total = 0;\n  for (let i = 0; i <= arr.length; i++) {\n    total += arr[i];\n  }\n  return total;\n}",
     "The loop condition uses `<=`, so on the last iteration `arr[i]` is `undefined` and the result becomes "
     "`NaN`. Use `i < arr.length` instead."),
    ("Write a bash command that counts the lines in every .txt file in the current directory.", "",
     "```bash\nwc -l *.txt\n```"),
    ("What does the HTTP status code 404 mean?", "", "404 Not Found: the server could not find the requested resource."),
    ("Write a Python function that returns the n-th Fibonacci number using iteration.", "",
     "```python\ndef fibonacci(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
     "    return a\n```"),
    ("Convert this Python loop into a list comprehension.", "squares = []\nfor x in range(10):\n    squares.append(x * x)",
     "```python\nsquares = [x * x for x in range(10)]\n```"),
    ("What is the time complexity of binary search?", "", "O(log n), because each step halves the remaining search range."),
    ("Write a regular expression that matches a five-digit US ZIP code.", "", "`^\\d{5}$`"),
]

# ---------------------------------------------------------------- clean: classification / extraction
CLASSIFY = [
    ("Classify the sentiment of this review as positive, negative or neutral.",
     "The hotel room was spotless and the staff went out of their way to help us.", "Positive"),
    ("Classify the sentiment of this review as positive, negative or neutral.",
     "The delivery arrived two weeks late and the box was crushed.", "Negative"),
    ("Identify the part of speech of the underlined word: \"She sings _beautifully_.\"", "", "Adverb"),
    ("Is the following statement a fact or an opinion?", "Mount Everest is the highest mountain above sea level.", "Fact"),
    ("Is the following statement a fact or an opinion?", "Summer is the best season of the year.", "Opinion"),
    ("Categorize each animal as a mammal, bird or reptile.", "dolphin, eagle, iguana, bat",
     "Dolphin: mammal\nEagle: bird\nIguana: reptile\nBat: mammal"),
    ("Extract all the dates mentioned in the text.",
     "The contract was signed on 3 March 2021 and renewed on 15 April 2023, with a review due in June 2024.",
     "3 March 2021, 15 April 2023, June 2024"),
    ("Which of these numbers are prime?", "4, 7, 9, 11, 15, 17", "7, 11 and 17"),
    ("Identify the main topic of the headline.", "City council approves new cycle lanes along the river road", "Urban transport"),
    ("Detect the language of the sentence.", "Ich habe heute keine Zeit.", "German"),
    ("Find the odd one out and explain why.", "apple, banana, carrot, cherry",
     "Carrot, because it is a vegetable while the others are fruits."),
    ("Extract the email addresses from the text.",
     "For billing questions write to billing@example.org; technical issues go to help@example.org.",
     "billing@example.org, help@example.org"),
    ("Given the URL, extract the domain name.", "https://www.example.com/blog/2024/spring-sale?ref=newsletter", "example.com"),
    ("Classify the following sentence as a question, statement or command.", "Please close the window before you leave.", "Command"),
]

# ---------------------------------------------------------------- clean: editing (copy traps)
EDITING = [
    ("Correct the grammar in this sentence.", "Me and him goes to the market every Saturdays.",
     "He and I go to the market every Saturday."),
    ("Rewrite the sentence in the passive voice.", "The committee approved the new budget on Monday.",
     "The new budget was approved by the committee on Monday."),
    ("Add the missing punctuation to the sentence.", "where are you going asked Maria",
     "\"Where are you going?\" asked Maria."),
    ("Make this sentence more formal.", "Hey, we can't come to the meeting 'cause we're swamped with work.",
     "Unfortunately, we are unable to attend the meeting because of our current workload."),
    ("Translate the sentence into Spanish.", "The library opens at nine in the morning.",
     "La biblioteca abre a las nueve de la mañana."),
    ("Paraphrase the sentence using simpler words.",
     "The municipality intends to ameliorate the condition of the thoroughfares.",
     "The town plans to improve the roads."),
    ("Change the sentence from present to past tense.", "She walks to school and reads on the bus.",
     "She walked to school and read on the bus."),
    ("Fix the spelling mistakes in the sentence.", "I recieved the pakage yesterday and it was definately worth the wait.",
     "I received the package yesterday and it was definitely worth the wait."),
    ("Sort these words in alphabetical order.", "pear, apple, orange, banana", "apple, banana, orange, pear"),
]

# ---------------------------------------------------------------- passages (for summaries and continuations)
PASSAGES = {
    "bees": (
        "Honeybees communicate the location of food through a movement called the waggle dance. A forager "
        "returning to the hive walks in a figure-eight pattern, waggling its body during the straight part. "
        "The angle of that straight run relative to vertical shows the direction of the food relative to the "
        "Sun. The length of the waggle tells the other bees how far away the flowers are.",
        "Honeybees use a figure-eight 'waggle dance' whose angle shows the direction of food relative to the "
        "Sun and whose length shows its distance.",
        "The dance is repeated many times, and other bees follow closely behind the dancer to pick up the "
        "scent of the flowers. Within minutes, dozens of new foragers leave the hive heading in the same direction."),
    "tides": (
        "Tides are the regular rise and fall of sea level caused mainly by the Moon's gravity. The Moon pulls "
        "the ocean on the side of Earth facing it into a bulge, and a second bulge forms on the opposite side. "
        "As Earth rotates through these bulges, most coasts see two high tides and two low tides each day. "
        "The Sun also affects tides, though its effect is less than half as strong.",
        "Tides are caused mostly by the Moon's gravity, which creates two ocean bulges that Earth rotates "
        "through, giving most coasts two high and two low tides a day, with a smaller contribution from the Sun.",
        "When the Sun and Moon line up, their pulls combine to produce especially high spring tides. When they "
        "are at right angles, the weaker neap tides occur."),
    "printing": (
        "Around 1440, Johannes Gutenberg developed a printing press that used movable metal type. Before this, "
        "books in Europe were mostly copied by hand, which made them rare and expensive. Gutenberg's press could "
        "produce thousands of pages a day. Within fifty years, printing shops had spread to more than two hundred "
        "cities across Europe.",
        "Gutenberg's movable-type press of around 1440 replaced slow hand-copying, printing thousands of pages a "
        "day and spreading to over two hundred European cities within fifty years.",
        "This flood of printed material lowered the price of books dramatically. Ideas from scholars and "
        "reformers could now travel much faster than ever before."),
    "sleep": (
        "Scientists divide sleep into several stages that repeat in cycles of about ninety minutes. Light sleep "
        "comes first, followed by deep slow-wave sleep, when the body repairs tissue and strengthens the immune "
        "system. Rapid eye movement sleep follows, the stage in which most vivid dreams occur. A typical adult "
        "passes through four to six of these cycles each night.",
        "Sleep runs in roughly ninety-minute cycles of light sleep, restorative deep sleep and dream-filled REM "
        "sleep, repeated four to six times a night.",
        "Later in the night the REM periods grow longer while deep sleep becomes shorter. This is why people "
        "often wake from a dream in the early morning."),
    "coffee": (
        "Coffee plants grow best in the tropics, in a band between the Tropic of Cancer and the Tropic of "
        "Capricorn. The two main species are arabica and robusta. Arabica grows at higher altitudes and has a "
        "sweeter, more complex flavour, while robusta is hardier and contains almost twice as much caffeine. "
        "Most of the coffee sold in supermarkets is a blend of the two.",
        "Coffee grows in the tropics; its two main species are the sweeter, high-altitude arabica and the "
        "hardier, more caffeinated robusta, which are often blended.",
        "Robusta is also cheaper to grow because it resists pests and disease better. For this reason it is "
        "widely used in instant coffee and espresso blends."),
    "volcano": (
        "A volcano forms where molten rock, called magma, rises through cracks in Earth's crust. When pressure "
        "builds up, the magma erupts onto the surface as lava, along with ash and gases. Over many eruptions "
        "the cooled lava and ash pile up into a mountain. Some volcanoes erupt explosively, while others release "
        "lava in slow, steady flows.",
        "Volcanoes form where magma rises through the crust and erupts as lava, ash and gas, building a "
        "mountain over many eruptions that can be explosive or gentle.",
        "The difference depends largely on how thick and gassy the magma is. Thick, sticky magma traps gas "
        "until it bursts out violently, as happened at Mount St. Helens in 1980."),
    "octopus": (
        "Octopuses are among the most intelligent invertebrates. They can solve puzzles, open screw-top jars and "
        "escape from aquarium tanks. Each of their eight arms contains a large share of the animal's neurons, so "
        "the arms can react to touch and taste without waiting for the brain. Octopuses also change the colour "
        "and texture of their skin in a fraction of a second.",
        "Octopuses are highly intelligent invertebrates that solve puzzles, have semi-independent arms rich in "
        "neurons, and can change skin colour and texture almost instantly.",
        "They use this camouflage to hide from predators such as eels and sharks. Some species can even mimic "
        "the shape and movement of other animals, like lionfish or sea snakes."),
    "rail": (
        "The Liverpool and Manchester Railway opened in 1830 as the first intercity line to rely entirely on "
        "steam locomotives. It carried both passengers and freight on a fixed timetable. The line was an "
        "immediate commercial success and cut the journey between the two cities to about two hours. Its "
        "opening day was marred, however, when a member of parliament was struck and killed by a locomotive.",
        "Opened in 1830, the Liverpool and Manchester Railway was the first all-steam intercity line; it was a "
        "quick commercial success despite a fatal accident on its opening day.",
        "Investors soon poured money into new lines across Britain. Within twenty years, thousands of miles of "
        "track connected almost every major town in the country."),
}

SUMMARY_PROMPTS = [
    "Summarize the following paragraph in one sentence.",
    "Write a one-sentence summary of the passage.",
    "Summarise the text below in a single sentence.",
    "Give a brief summary of this passage.",
]
