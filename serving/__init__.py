"""The scorer: a FastAPI service scoring H2O MOJOs in a JVM reached through py4j.

Nothing in this package imports ``h2o``: a MOJO needs only ``h2o-genmodel.jar``.
"""
