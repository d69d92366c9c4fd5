"""The paper's figures (and those past it), drawn from in-memory results; one module per figure.

Every ``plot_figN_*`` function takes data (arrays, DataFrames) and returns a
matplotlib Figure; the workflow scripts load the result files and save the
figure with ``labelnoise.io.save_figure``.  Nothing here reads result files.

=========  =============================================  ===============================
figure     what it shows                                  function
=========  =============================================  ===============================
Fig. 1     noisy labels in a 2-D embedding                ``fig1.plot_fig1_embedding``
Figs. 2,3  softmax of noisy-label nets on test images     ``fig2_fig3.plot_fig2_softmax_examples``
Fig. 4     accuracy vs noise level, per noise type        ``fig4.plot_fig4_noise_types``
Figs. 5-7  experiment vs the K-NN analysis (Eq. 2)        ``fig5_6_7.plot_fig5_6_7_analytic_comparison``
Fig. 8     K whose label histogram fits the softmax       ``fig8_fig9.plot_fig8_preferred_k``
Fig. 9     softmax vs K-NN histogram, example pairs       ``fig8_fig9.plot_fig9_softmax_knn_pairs``
Fig. 10    CNN vs K-NN agreement per test sample          ``fig10.plot_fig10_agreement``
Fig. 11    fitted K vs training samples per class         ``fig11.plot_fig11_effective_k_vs_data``
Fig. 12    instance and human noise vs Eq. 6              ``fig12.plot_fig12_realised_noise``
Fig. 13    accuracy under four selection protocols        ``fig13.plot_fig13_selection``
=========  =============================================  ===============================

The shared style, colours and drawing helpers are in :mod:`labelnoise.plots.common`.
"""
