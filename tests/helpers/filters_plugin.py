"""A user's filter file as `calcdetect detect --filters-from` imports it: one registration line."""

from calcdetect.filters import register_spec
from user_filter import WIDE_TOPHAT

register_spec(WIDE_TOPHAT, replace=True)
