"""Study slices: what belongs to one study (bundle) and nowhere else.

Each sub-package holds a study's experiment sets, its report and the published figures it is compared with:

- :mod:`~medmonai.apps.brain_mri`: brain-MRI datalists, skull-on volumes given brain masks (``brain_mri_anomaly``);
- :mod:`~medmonai.apps.one_class`: one-class detection on MNIST-style data (``medmnist_ae_anomaly``);
- :mod:`~medmonai.apps.oct`: VAE scores per OCT disease class (``oct_vae_anomaly``);
- :mod:`~medmonai.apps.isles_patches`: labelled ISLES patches for latent-space studies (``isles_dwi_vae``).

The library core (data, networks, engines, handlers, scoring) never imports from here.
"""
