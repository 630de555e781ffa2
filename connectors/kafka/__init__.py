"""Kafka: the topic registry and codecs, the event producer, and Bytewax sources and sinks."""
