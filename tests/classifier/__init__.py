"""Tests of pgcluster.classifier: the rules, the routing corpus, and the corpus on real servers."""
