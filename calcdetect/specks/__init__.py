"""Candidate specks: finding them, their shape and features, and the learned false-positive model.

- :mod:`calcdetect.specks.noise`: local background and noise of a filter response;
- :mod:`calcdetect.specks.candidates`: hysteresis thresholding and per-speck measurements;
- :mod:`calcdetect.specks.shape`: outline features and the shape class of each speck;
- :mod:`calcdetect.specks.ridges`: the bright ridge through a speck and how far it runs;
- :mod:`calcdetect.specks.tiles`: maps made only on the noise blocks round a few places;
- :mod:`calcdetect.specks.features`: what each candidate looks like and where it lies;
- :mod:`calcdetect.specks.trees`: gradient-boosted trees stored as JSON, evaluated with numpy;
- :mod:`calcdetect.specks.model`: the shipped model, the probability of being a calcification;
- :mod:`calcdetect.specks.training`: how the model is fitted (needs ``calcdetect[train]``).
"""
