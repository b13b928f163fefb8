"""Integrations with training frameworks, each an optional extra.

* :mod:`counterpoise.integrations.transformers`: a ``compute_loss_func`` for the Hugging Face
  ``Trainer`` and a ``Trainer`` whose gradient accumulation gives the exact weighted mean
  (``pip install "counterpoise[transformers]"``).
* :mod:`counterpoise.integrations.lightning`: class weights as buffers of a ``LightningModule``
  and a callback that logs the imbalance report at the end of each validation
  (``pip install "counterpoise[lightning]"``).

Nothing is imported here: ``import counterpoise`` never imports a framework, and each
submodule imports its framework only when it is imported itself.
"""
