"""labelnoise: the science behind the reproduction of Drory, Avidan & Giryes,
"On the Resistance of Neural Nets to Label Noise".

Pure, unit-tested functions usable without Snakemake (the README's "Where
each part lives" table lists every module):
  noise_types  the registry of noise types (random, flip, confusion, concentrated, instance, human)
  data         load and split the datasets into one prepared .npz
  noise        the label-noise generators (Section 3, and instance-dependent noise)
  models       the paper's CNNs (Section 5, Appendix A)
  training     the training settings (TrainConfig), the optimiser and the one training loop; every
               model-selection protocol measured (selection); seeds stacked into one model (seed_stack)
  analytic     the K-NN plurality-vote accuracy (Section 4, Appendix B)
  plots        one module per figure
The workflow's edge: config (validated once), schema, records (the guard against stale results).
"""

__version__ = "0.1.0"
