"""labelnoise: the science behind the reproduction of Drory, Avidan & Giryes,
"On the Resistance of Neural Nets to Label Noise".

Pure, unit-tested functions usable without Snakemake:
  data      load and split the datasets into one prepared .npz
  noise     random / flip / confusion-matrix / concentrated label noise (Section 3)
  models    the paper's CNNs (Section 5, Appendix A)
  training  deterministic training with early stopping on the clean validation half
  analytic  the K-NN plurality-vote accuracy (Section 4, Appendix B)
  plots     the paper's figures
"""

__version__ = "0.1.0"
