"""A small template grammar of everyday English for the synthetic dialogues.

``Sentences(rng).utterance(max_words)`` draws a statement, question or reply; the
vocabulary is large enough that a few hours of speech rarely repeat a sentence.
Backchannels ("mm-hm", "yeah", ...) come from :data:`BACKCHANNELS`.
"""
from __future__ import annotations

import numpy as np

BACKCHANNELS = ("mm-hm", "yeah", "right", "okay", "I see", "uh-huh", "sure", "oh really",
                "mm", "yes", "true", "wow", "exactly", "no way", "oh")

NAMES = ("Anna", "Ben", "Carla", "David", "Emma", "Frank", "Grace", "Henry", "Iris", "Jack",
         "Kate", "Leo", "Maria", "Nick", "Olivia", "Peter", "Rosa", "Sam", "Tom", "Vera")
PLACES = ("the market", "the office", "the station", "the park", "the library", "the beach",
          "the museum", "the garden", "the kitchen", "the hospital", "the school", "the harbour",
          "the old bridge", "the cinema", "the bakery", "the river", "the hotel", "the airport",
          "the village", "the mountains", "my sister's place", "the town hall")
TIMES = ("tomorrow", "yesterday", "last week", "next Monday", "this morning", "tonight",
         "on Friday", "after lunch", "in the evening", "at the weekend", "last summer",
         "in two weeks", "every day", "now and then", "early in the morning", "before dinner")
NOUNS = ("the car", "the report", "the garden", "the new phone", "the dog", "the meeting",
         "the weather", "the book", "the recipe", "the train", "the project", "the budget",
         "the movie", "the concert", "the bicycle", "the window", "the computer", "the map",
         "the letter", "the coffee machine", "the painting", "the ticket", "the shop",
         "the neighbours", "the holiday", "the kids", "the exam", "the game", "the photos")
ADJS = ("great", "strange", "expensive", "quiet", "busy", "lovely", "difficult", "easy",
        "funny", "boring", "beautiful", "broken", "perfect", "terrible", "amazing", "tiny",
        "huge", "crowded", "different", "important", "late", "cold", "warm", "cheap")
VERBS = (("fix", "fixed"), ("call", "called"), ("visit", "visited"), ("clean", "cleaned"),
         ("finish", "finished"), ("check", "checked"), ("paint", "painted"),
         ("move", "moved"), ("order", "ordered"), ("watch", "watched"), ("open", "opened"),
         ("cook", "cooked"), ("print", "printed"), ("plan", "planned"), ("sell", "sold"),
         ("buy", "bought"), ("find", "found"), ("read", "read"), ("send", "sent"),
         ("bring", "brought"), ("see", "saw"), ("take", "took"), ("lose", "lost"))
GOS = ("go to", "walk to", "drive to", "come back from", "stop by", "look around", "meet at")
FEELINGS = ("I think", "Honestly", "To be fair", "Well", "You know", "Actually", "I guess",
            "Apparently", "Of course", "Funny enough", "So", "Anyway", "Look")
REPLIES = ("That sounds good", "I am not so sure", "No, that was before", "Maybe next time",
           "It depends on the weather", "I have no idea", "That is a good point",
           "We could try that", "Not really", "Why not", "That makes sense",
           "I would rather stay home", "Let me think about it", "Sure, if you want")


class Sentences:
    """Random sentences from templates; deterministic for a given numpy Generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def _statement(self) -> str:
        p = self._pick
        templates = (
            lambda: f"{p(FEELINGS)}, {p(NOUNS)} was {p(ADJS)} {p(TIMES)}",
            lambda: f"I {p(VERBS)[1]} {p(NOUNS)} {p(TIMES)}",
            lambda: f"{p(NAMES)} wants to {p(GOS)} {p(PLACES)} {p(TIMES)}",
            lambda: f"We should {p(VERBS)[0]} {p(NOUNS)} before we {p(GOS)} {p(PLACES)}",
            lambda: f"{p(FEELINGS)}, {p(PLACES)} was really {p(ADJS)} {p(TIMES)}",
            lambda: f"My friend {p(NAMES)} {p(VERBS)[1]} {p(NOUNS)} and it was {p(ADJS)}",
            lambda: f"The thing about {p(NOUNS)[4:]} is that it gets {p(ADJS)} {p(TIMES)}",
            lambda: f"{p(NAMES)} said {p(NOUNS)} is too {p(ADJS)} for us",
            lambda: f"If we {p(VERBS)[0]} {p(NOUNS)} {p(TIMES)}, we can {p(GOS)} {p(PLACES)}",
            lambda: f"I remember when {p(NAMES)} {p(VERBS)[1]} {p(NOUNS)} at {p(PLACES)}",
            lambda: f"It was {p(ADJS)}, because {p(NOUNS)} was {p(ADJS)} again",
            lambda: f"{p(REPLIES)}",
            lambda: f"{p(REPLIES)}. {p(NAMES)} {p(VERBS)[1]} {p(NOUNS)} {p(TIMES)}",
        )
        return p(templates)()

    def _question(self) -> str:
        p = self._pick
        templates = (
            lambda: f"Did you {p(VERBS)[0]} {p(NOUNS)} {p(TIMES)}?",
            lambda: f"Do you want to {p(GOS)} {p(PLACES)} {p(TIMES)}?",
            lambda: f"Have you seen {p(NOUNS)} at {p(PLACES)}?",
            lambda: f"What did {p(NAMES)} say about {p(NOUNS)}?",
            lambda: f"Why is {p(NOUNS)} so {p(ADJS)}?",
            lambda: f"How was {p(PLACES)} {p(TIMES)}?",
            lambda: f"Is {p(NAMES)} coming {p(TIMES)}?",
            lambda: f"Can we {p(VERBS)[0]} {p(NOUNS)} first?",
        )
        return p(templates)()

    def utterance(self, max_words: int = 12) -> str:
        """One sentence of at most ``max_words`` words (re-drawn a few times if longer)."""
        for _ in range(20):
            text = self._question() if self.rng.random() < 0.3 else self._statement()
            if not text.endswith("?"):
                text += "."
            if len(text.split()) <= max_words:
                return text
        return text

    def backchannel(self) -> str:
        return self._pick(BACKCHANNELS)
