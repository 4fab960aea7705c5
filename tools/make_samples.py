#!/usr/bin/env python3
"""Write sift's sample datasets and their defect labels into sample_datasets/ (deterministic).

    python3 tools/make_samples.py [out_dir]

All text is original (sample_text.py, sample_defects.py and the conversations below). Each file mixes
mostly clean records with planted defects; labels.jsonl lists every planted defect as
{"file", "index", "defect", "note"} with the 0-based position of the record in its file.
"""

import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample_defects import CONTINUATION_PROMPTS, DEFECTS  # noqa: E402
from sample_text import (  # noqa: E402
    CLASSIFY, CODING, EDITING, KNOWLEDGE, PASSAGES, SUMMARY_PROMPTS, WRITING)

SYSTEM = "You are a helpful, concise assistant."

# Multi-turn conversations: lists of (user, assistant) exchanges.
CONVERSATIONS = [
    [("I'm planning a vegetable garden. What should a beginner grow?",
      "Good beginner crops are lettuce, radishes, courgettes, bush beans and cherry tomatoes: they grow fast and "
      "forgive mistakes."),
     ("Which of those can grow in a shady spot?",
      "Lettuce is the best choice for partial shade, and radishes cope reasonably well. Tomatoes, beans and "
      "courgettes need at least six hours of direct sun.")],
    [("How do I make a simple tomato sauce?",
      "Soften a chopped onion and two cloves of garlic in olive oil, add a tin of chopped tomatoes, a pinch of "
      "salt and sugar, and simmer for twenty minutes."),
     ("Can I freeze it?",
      "Yes. Let it cool, then freeze it in portions for up to three months. Thaw it in the fridge overnight and "
      "reheat until it bubbles.")],
    [("What is a good way to start learning to run?",
      "Try a run-walk plan: alternate one minute of easy running with two minutes of walking for twenty "
      "minutes, three times a week, and lengthen the running parts gradually."),
     ("How long until I can run 5 km without stopping?",
      "Most beginners get there in eight to ten weeks with three sessions a week. Listen to your body and take "
      "an extra rest day if your joints ache.")],
    [("Can you explain what a mortgage is?",
      "A mortgage is a loan used to buy property, where the property itself secures the loan. You repay it "
      "with interest over a long term, often 25 years."),
     ("What is the difference between a fixed and a variable rate?",
      "With a fixed rate, your interest rate and monthly payment stay the same for an agreed period. A "
      "variable rate moves with the lender's or central bank's rate, so payments can rise or fall.")],
    [("My houseplant's leaves are turning yellow. Why?",
      "The most common cause is overwatering, which damages roots. Too little light or a lack of nutrients can "
      "also turn leaves yellow."),
     ("The soil is always wet. What should I do?",
      "Water less often: wait until the top few centimetres of soil are dry. Make sure the pot has drainage "
      "holes, and empty the saucer after watering.")],
    [("Help me name a small coffee shop near a university.",
      "Some ideas: The Study Break, Footnote Coffee, Campus Grind, The Reading Room and Second Draft."),
     ("I like Footnote Coffee. Can you write a tagline for it?",
      "Footnote Coffee: the best part of every chapter.")],
    [("What's the difference between 'affect' and 'effect'?",
      "'Affect' is usually a verb meaning to influence, while 'effect' is usually a noun meaning a result. "
      "For example: the weather affects my mood; the medicine had a calming effect."),
     ("Is 'effect' ever a verb?",
      "Yes, in formal English 'to effect' means to bring about, as in 'the new manager effected major "
      "changes'.")],
    [("How many hours of sleep does a ten-year-old need?",
      "Children aged six to twelve need about nine to twelve hours of sleep a night."),
     ("Any tips for getting them to bed on time?",
      "Keep a consistent bedtime, switch off screens an hour before, and use a calm routine such as a bath and "
      "reading together.")],
    [("I need to write a cover letter. How should I start it?",
      "Open with the job title, where you saw it, and one sentence on why you are a strong fit, for example a "
      "relevant achievement."),
     ("How long should the whole letter be?",
      "Keep it to one page: three or four short paragraphs of roughly 250 to 400 words.")],
    [("What is the Pythagorean theorem?",
      "In a right-angled triangle, the square of the hypotenuse equals the sum of the squares of the other two "
      "sides: a^2 + b^2 = c^2."),
     ("If the two short sides are 6 and 8, how long is the hypotenuse?",
      "The hypotenuse is 10, because 6^2 + 8^2 = 36 + 64 = 100, and the square root of 100 is 10.")],
    [("Recommend a board game for a family with young kids.",
      "Ticket to Ride: First Journey is a good choice. Its rules are simple, games are short and it teaches "
      "some geography."),
     ("Something cooperative instead?",
      "Try Outfoxed! or Hoot Owl Hoot!. Everyone plays as a team against the game, so nobody is left out.")],
    [("How do I convert Celsius to Fahrenheit?", "Multiply by 9/5 and add 32. For example, 20 °C is 68 °F."),
     ("And what is -40 °C in Fahrenheit?",
      "-40 °F. It is the one temperature where both scales give the same number.")],
]


def math_items(rng, n):
    """Arithmetic and unit problems with computed answers."""
    out, seen, i = [], set(), 0
    while len(out) < n:
        i += 1
        kind = i % 5
        a, b = rng.randint(12, 99), rng.randint(3, 40)
        if kind == 0:
            out.append((f"What is {a} multiplied by {b}?", "", f"{a} x {b} = {a * b}."))
        elif kind == 1:
            price, pct = rng.choice([40, 60, 80, 120, 250]), rng.choice([10, 15, 20, 25])
            out.append((f"A jacket costs ${price}. How much does it cost after a {pct}% discount?", "",
                        f"The discount is ${price * pct / 100:g}, so the jacket costs ${price - price * pct / 100:g}."))
        elif kind == 2:
            km = rng.choice([3, 8, 12, 21, 42])
            out.append((f"Convert {km} kilometres to miles, rounded to one decimal place.", "",
                        f"{km} km is about {km * 0.621371:.1f} miles."))
        elif kind == 3:
            speed, hours = rng.choice([45, 60, 72, 90]), rng.choice([2, 3, 4])
            out.append((f"A train travels at {speed} km/h for {hours} hours. How far does it go?", "",
                        f"Distance = speed x time = {speed} x {hours} = {speed * hours} km."))
        else:
            nums = rng.sample(range(2, 60), 5)
            out.append(("Find the average of these numbers.", ", ".join(map(str, nums)),
                        f"The sum is {sum(nums)}, and {sum(nums)} / 5 = {sum(nums) / 5:g}."))
        if out[-1][0] + out[-1][1] in seen:
            out.pop()
        else:
            seen.add(out[-1][0] + out[-1][1])
    return out


def summaries(names):
    return [(SUMMARY_PROMPTS[i % len(SUMMARY_PROMPTS)], PASSAGES[n][0], PASSAGES[n][1]) for i, n in enumerate(names)]


def continuations(names):
    return [("continuation", CONTINUATION_PROMPTS[i % len(CONTINUATION_PROMPTS)], PASSAGES[n][0], PASSAGES[n][2],
             f"response continues the '{n}' passage instead of answering") for i, n in enumerate(names)]


def place(rng, clean, defects, copies):
    """Shuffle clean records and defects together, then insert each (copy, original) after its original."""
    rows = [(r, None, None) for r in clean] + [(r, d, note) for (d, *r, note) in defects]
    rows = [(tuple(r), d, note) for r, d, note in rows]
    rng.shuffle(rows)
    for (defect, copy, original, note) in copies:
        at = next(i for i, row in enumerate(rows) if row[0] == original)
        rows.insert(rng.randint(at + 1, len(rows)), (copy, defect, note))
    return rows


def dup_copies(rng, pool, k_exact, near_edits):
    """Exact duplicates (case/space changed) of k records in pool, and near duplicates via edit functions."""
    out = []
    for r in rng.sample(pool, k_exact):
        copy = ("  " + r[0].upper() + " ", r[1], r[2])
        out.append(("duplicate", copy, r, "same instruction/input with case and spacing changed"))
    for r, edit, note in near_edits:
        out.append(("near_duplicate", edit(r), r, note))
    return out


def find(pool, prefix):
    return next(r for r in pool if r[0].startswith(prefix))


def alpaca(rng):
    pool = KNOWLEDGE + WRITING + CODING + CLASSIFY + EDITING
    clean = pool + summaries(["bees", "tides", "printing", "sleep"]) + math_items(rng, 45)
    defects = DEFECTS + continuations(["coffee", "volcano", "octopus", "rail"])
    seasons, turtle = find(pool, "What causes the seasons"), find(pool, "Write a short story for children")
    bug = find(pool, "Find the bug")
    bees = summaries(["bees"])[0]
    near = [
        (seasons, lambda r: ("what causes the seasons on earth", "", "Earth's tilted axis."), "punctuation and case"),
        (turtle, lambda r: (r[0].replace("to fly.", "to fly high."), "", "Tilly the turtle learns to swim."),
         "one word added"),
        (bug, lambda r: ("Find the bug in this JavaScript function, please.", r[1], r[2]), "'please' added"),
        (bees, lambda r: ("Summarize the following paragraph in a sentence.", r[1], r[2]), "one word changed"),
    ]
    rows = place(rng, clean, defects, dup_copies(rng, KNOWLEDGE + CLASSIFY, 3, near))
    records = []
    for i, ((instr, inp, out), d, note) in enumerate(rows):
        rec = {"instruction": instr, "input": inp, "output": out}
        if i % 37 == 5:
            rec["system"] = SYSTEM
        if i % 41 == 7:
            rec["history"] = [["Hi! Can you help me with a few questions?", "Of course. What would you like to know?"]]
        records.append(rec)
    return records, rows


DOLLY_CATEGORIES = {"KNOWLEDGE": "open_qa", "WRITING": "creative_writing", "CLASSIFY": "classification",
                    "CODING": "general_qa", "EDITING": "general_qa"}


def dolly(rng):
    pool = [(r, "open_qa") for r in KNOWLEDGE[::2]] + [(r, "creative_writing") for r in WRITING[::3]] + \
        [(r, "classification") for r in CLASSIFY[::2]] + [(r, "brainstorming") for r in KNOWLEDGE[11::12]] + \
        [(r, "general_qa") for r in CODING[1::3] + EDITING[::2] + KNOWLEDGE[7::6]]
    summ = [((f"What does the passage say about {t}?", PASSAGES[n][0], PASSAGES[n][1]), "closed_qa")
            for n, t in [("coffee", "coffee"), ("volcano", "volcanoes"), ("rail", "the railway")]]
    summ += [((SUMMARY_PROMPTS[2], PASSAGES["printing"][0], PASSAGES["printing"][1]), "summarization")]
    cat = {r: c for r, c in pool + summ}
    defects = [d for d in DEFECTS if d[0] in ("empty_response", "refusal", "truncated", "needs_modality", "noise")][::2]
    defects += continuations(["bees", "tides", "octopus"])
    ocean = KNOWLEDGE[0]
    near = [(ocean, lambda r: (r[0].replace("?", "!?"), "", "The tilt of the axis."), "punctuation only")]
    rows = place(rng, [r for r, _ in pool + summ], defects, dup_copies(rng, [r for r, _ in pool], 1, near))
    records = []
    for (instr, ctx, resp), d, note in rows:
        c = cat.get((instr, ctx, resp), "summarization" if d == "continuation" else "open_qa")
        records.append({"instruction": instr, "context": ctx, "response": resp, "category": c})
    return records, rows


def chat_rows(rng, n_clean, kinds):
    """Conversations as lists of (user, assistant) pairs; defects go into the last assistant turn."""
    convs = [(c, None, None) for c in CONVERSATIONS]
    singles = [r for r in KNOWLEDGE + WRITING + CODING if not r[1]]
    for r in rng.sample(singles, n_clean - len(CONVERSATIONS)):
        convs.append(([(r[0], r[2])], None, None))
    per_kind = {}
    for d, instr, inp, out, note in DEFECTS:
        per_kind[d] = per_kind.get(d, 0) + 1
        if d in kinds and not inp and per_kind[d] <= 2:
            opener = rng.choice(CONVERSATIONS)[0]
            convs.append(([opener, (instr, out)] if rng.random() < 0.5 else [(instr, out)], d, note))
    rng.shuffle(convs)
    at = next(i for i, (_, d, _) in enumerate(convs) if d is None and i >= 3)
    copy = [(u.lower(), a) for u, a in convs[at][0]]
    convs.insert(rng.randint(at + 1, len(convs)), (copy, "duplicate", "same conversation, user turns lowercased"))
    return convs


def sharegpt(rng):
    rows = chat_rows(rng, 36, {"empty_response", "refusal", "truncated", "placeholder", "needs_modality", "noise"})
    records = []
    for i, (conv, d, note) in enumerate(rows):
        turns = [{"from": "system", "value": SYSTEM}] if i % 4 == 0 else []
        for u, a in conv:
            turns += [{"from": "human", "value": u}, {"from": "gpt", "value": a}]
        records.append({"id": f"conv-{i:04d}", "conversations": turns})
    return records, rows


def openai(rng):
    rows = chat_rows(rng, 36, {"empty_response", "refusal", "truncated", "copies_prompt", "merged_instructions",
                               "length_ratio"})
    records = []
    for i, (conv, d, note) in enumerate(rows):
        msgs = [{"role": "system", "content": SYSTEM}] if i % 3 == 0 else []
        for k, (u, a) in enumerate(conv):
            msgs.append({"role": "user", "content": u})
            m = {"role": "assistant", "content": a}
            if len(conv) > 1:
                m["weight"] = 0 if k < len(conv) - 1 else 1
            msgs.append(m)
        records.append({"messages": msgs})
    return records, rows


def prompt_completion(rng):
    clean = [r for r in KNOWLEDGE[1::2] + CODING[::2] if not r[1]] + math_items(rng, 8)
    defects = [d for d in DEFECTS if d[0] in ("empty_response", "refusal", "truncated", "copies_prompt", "noise")
               and not d[2]][1::2]
    rows = place(rng, clean, defects, [])
    records = []
    for i, ((instr, _inp, out), d, note) in enumerate(rows):
        if i % 2:
            records.append({"prompt": [{"role": "user", "content": instr}],
                            "completion": [{"role": "assistant", "content": out}]})
        else:
            records.append({"prompt": instr, "completion": out})
    return records, rows


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "sample_datasets")
    os.makedirs(out_dir, exist_ok=True)
    labels = []
    files = [("alpaca_sample.json", alpaca), ("dolly_sample.jsonl", dolly), ("sharegpt_sample.json", sharegpt),
             ("openai_sample.jsonl", openai), ("prompt_completion_sample.jsonl", prompt_completion)]
    for seed, (name, build) in enumerate(files):
        records, rows = build(random.Random(seed + 7))
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            if name.endswith(".json"):
                json.dump(records, f, indent=4, ensure_ascii=False)
                f.write("\n")
            else:
                for r in records:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
        for i, (_, d, note) in enumerate(rows):
            if d:
                labels.append({"file": name, "index": i, "defect": d, "note": note})
        print(f"{name}: {len(records)} records, {sum(1 for r in rows if r[1])} planted defects")
    with open(os.path.join(out_dir, "labels.jsonl"), "w", encoding="utf-8") as f:
        for lab in labels:
            f.write(json.dumps(lab, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
