"""Scores for the diarization benchmark: DER (pyannote.metrics) and naming, per system and condition.

DER is pyannote's DiarizationErrorRate with collar=0.5 (pyannote's collar is the total width, so
±0.25 s around every reference boundary: NIST's "collar 0.25 s") and overlap scored. It maps the
hypothesis' speakers to the reference's optimally, so it measures segmentation and clustering
whatever the labels are called.

Naming measures what DER cannot: whether the names are right. It is the share of reference speech
time, outside overlapped speech, where the hypothesis says exactly the right enrolled name, or,
for a speaker who is not enrolled, speech with no name. Time the hypothesis leaves as non-speech
counts as wrong, so a system cannot score by saying nothing.
"""
from pyannote.core import Annotation, Segment, Timeline
from pyannote.database.util import load_rttm
from pyannote.metrics.diarization import DiarizationErrorRate

COLLAR = 0.5


def reference(rttm_path):
    """The one Annotation of a conversation's RTTM file (labels are voice names)."""
    (annotation,) = load_rttm(rttm_path).values()
    return annotation


def hypothesis(uri, segments):
    """An Annotation from [(start, end, label, name or None)], and {label: name or None}.

    Unnamed labels should already carry the conversation ID, so that no two conversations
    share one by accident.
    """
    annotation, names = Annotation(uri=uri), {}
    for track, (start, end, label, name) in enumerate(segments):
        if end > start:
            annotation[Segment(start, end), track] = label
            names[label] = name
    return annotation.support(), names


def naming(ref, hyp, names, enrolled):
    """(seconds named right, seconds of single-speaker reference speech): see the module doc."""
    overlap = ref.get_overlap()
    right = total = 0.0
    for speaker in ref.labels():
        alone = ref.label_timeline(speaker).support().extrude(overlap)
        wanted = speaker if speaker in enrolled else None
        said = Timeline([s for s, _, label in hyp.itertracks(yield_label=True) if names[label] == wanted]).support()
        other = Timeline([s for s, _, label in hyp.itertracks(yield_label=True) if names[label] != wanted]).support()
        right += alone.crop(said, mode="intersection").extrude(other).duration()
        total += alone.duration()
    return right, total


class Tally:
    """DER and naming of one system in one condition, accumulated over conversations."""

    def __init__(self):
        self.der = DiarizationErrorRate(collar=COLLAR, skip_overlap=False)
        self.named = self.single = 0.0
        self.per_conversation = {}

    def add(self, ref, hyp, names, enrolled, seconds):
        der = self.der(ref, hyp, uem=Timeline([Segment(0, seconds)]))
        right, total = naming(ref, hyp, names, enrolled)
        self.named += right
        self.single += total
        self.per_conversation[ref.uri] = {"der": der, "naming": right / total if total else None}

    def summary(self):
        """Aggregate DER (total errors over total reference time) and its parts, and naming."""
        parts = self.der.accumulated_
        total = parts["total"]
        return {
            "der": abs(self.der),
            "missed": parts["missed detection"] / total,
            "false_alarm": parts["false alarm"] / total,
            "confusion": parts["confusion"] / total,
            "naming": self.named / self.single if self.single else float("nan"),
            "reference_seconds": total,
        }
