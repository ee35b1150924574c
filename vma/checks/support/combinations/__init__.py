"""Combination coding: what the chart and the note say, the diabetes "with" links, and the findings of the combination check."""
