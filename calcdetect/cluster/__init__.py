"""Grouping specks into clusters and measuring them."""

from calcdetect.cluster.density import CAD_RADIUS_MM, ROD_RADIUS_MM, chance_groups, cluster_labels
from calcdetect.cluster.measure import Clusters, cluster_confidence, measure_clusters

__all__ = ["CAD_RADIUS_MM", "ROD_RADIUS_MM", "Clusters", "chance_groups", "cluster_labels", "cluster_confidence",
           "measure_clusters"]
