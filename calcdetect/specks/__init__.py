"""Candidate specks: their features and the learned false-positive model.

- :mod:`calcdetect.specks.features`: what each candidate looks like and where it lies;
- :mod:`calcdetect.specks.trees`: gradient-boosted trees stored as JSON, evaluated with numpy;
- :mod:`calcdetect.specks.model`: the shipped model, the probability of being a calcification;
- :mod:`calcdetect.specks.training`: how the model is fitted (needs ``calcdetect[train]``).
"""
