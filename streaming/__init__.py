"""The real-time path: events pushed to a collector, buffered on a NATS JetStream bus, landed by
an Apache Beam pipeline, and the web-analytics slice refreshed every few seconds."""
