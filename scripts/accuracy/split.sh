# Sourced by the accuracy and diarization benchmarks: the one split of the voices into
#   DEV  — development voices, the only ones any constant or threshold is chosen on, and
#   EVAL — evaluation voices, the only ones figures are reported on.
# Changing it invalidates every figure in BENCHMARKS.md that was chosen or measured on it.
DEV=(flite-rms flite-kal16 festival-cs-krb festival-cs-machac festival-fi-lj festival-it-pc festival-ca-ona
     festival-hi-nsk espeak-en-us-m7 espeak-en-f4 espeak-en-us-andy espeak-cs-m2 espeak-it-m4 espeak-ca-m6
     espeak-en-us-steph)
EVAL=(flite-awb flite-slt festival-ked festival-cs-dita festival-fi-mv festival-it-lp festival-ru-nsh festival-cs-ph
      espeak-en-us espeak-en-m3 espeak-en-us-f2 espeak-en-us-klatt espeak-en-belinda espeak-fi-f3 espeak-ru-f5
      espeak-hi-f1)
