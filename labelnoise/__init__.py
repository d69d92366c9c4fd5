"""labelnoise: the science behind the reproduction of Drory, Avidan & Giryes,
"On the Resistance of Neural Nets to Label Noise".

Pure, unit-tested functions usable without Snakemake (docs/layout.md lists where
each part lives; docs/extending.md how to add to the registries):
  noise_types  the registry of noise types (random, flip, confusion, concentrated, instance, human)
  data         the registry of data sources; load and split a dataset into one prepared .npz
  noise        the label-noise generators (Section 3, and instance-dependent noise)
  checks       the checks of a user's inputs, one function each (labels, K lists, probabilities, ties)
  models       the paper's CNNs (Section 5, Appendix A), a registry of architectures
  training     the training settings (TrainConfig), the optimiser and the one training loop; the
               registry of model-selection protocols it asks (selection); seeds stacked into one
               model (seed_stack); resume checkpoints (resume)
  analytic     the K-NN plurality-vote accuracy (Section 4, Appendix B)
  plots        one module per figure
The workflow's edge: config (validated once), schema, records (the guard against stale results).
"""

__version__ = "0.1.0"
