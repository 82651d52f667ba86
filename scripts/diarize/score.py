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


NAMING_PARTS = ("right", "wrong name", "enrolled, no name", "stranger named", "no speech")


def naming(ref, hyp, names, enrolled):
    """Seconds of single-speaker reference speech, by what the hypothesis says (see the module
    doc): {part: seconds} for NAMING_PARTS, and "total". The parts other than "right" say why:
    another enrolled name, no name for an enrolled speaker, a name for a speaker who is not
    enrolled, nothing at all; they add up to the total when the hypothesis has one speaker at a
    time, as both systems here do."""
    overlap = ref.get_overlap()
    speech = hyp.get_timeline().support()
    parts = dict.fromkeys(NAMING_PARTS + ("total",), 0.0)
    for speaker in ref.labels():
        alone = ref.label_timeline(speaker).support().extrude(overlap)
        wanted = speaker if speaker in enrolled else None
        said = Timeline([s for s, _, label in hyp.itertracks(yield_label=True) if names[label] == wanted]).support()
        other = Timeline([s for s, _, label in hyp.itertracks(yield_label=True) if names[label] != wanted]).support()
        parts["right"] += alone.crop(said, mode="intersection").extrude(other).duration()
        parts["no speech"] += alone.extrude(speech).duration()
        parts["total"] += alone.duration()
        for label in hyp.labels():
            if names[label] == wanted:
                continue
            seconds = alone.crop(hyp.label_timeline(label).support(), mode="intersection").duration()
            if wanted is None:
                parts["stranger named"] += seconds
            elif names[label] is None:
                parts["enrolled, no name"] += seconds
            else:
                parts["wrong name"] += seconds
    return parts


class Tally:
    """DER and naming of one system in one condition, accumulated over conversations."""

    def __init__(self):
        self.der = DiarizationErrorRate(collar=COLLAR, skip_overlap=False)
        self.naming = dict.fromkeys(NAMING_PARTS + ("total",), 0.0)
        self.per_conversation = {}

    def add(self, ref, hyp, names, enrolled, seconds):
        der = self.der(ref, hyp, uem=Timeline([Segment(0, seconds)]))
        parts = naming(ref, hyp, names, enrolled)
        for part, seconds in parts.items():
            self.naming[part] += seconds
        self.per_conversation[ref.uri] = {"der": der, "naming": parts["right"] / parts["total"] if parts["total"] else None}

    def summary(self):
        """Aggregate DER (total errors over total reference time) and its parts, and naming."""
        parts = self.der.accumulated_
        total = parts["total"]
        return {
            "der": abs(self.der),
            "missed": parts["missed detection"] / total,
            "false_alarm": parts["false alarm"] / total,
            "confusion": parts["confusion"] / total,
            "naming": self.naming["right"] / self.naming["total"] if self.naming["total"] else float("nan"),
            "naming_parts": {part: self.naming[part] / self.naming["total"] for part in NAMING_PARTS} if self.naming["total"] else {},
            "reference_seconds": total,
        }
