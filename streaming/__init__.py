"""The real-time path: events pushed to a collector, buffered on a NATS JetStream bus, landed by
an Apache Beam pipeline, and the web-analytics slice refreshed every few seconds."""

import logging


class _BeamGcpNotice(logging.Filter):
    """Apache Beam logs, on import, that Google Cloud's BigQuery client is not installed: true
    and irrelevant here (the pipeline uses no Google Cloud I/O), and printed on every command
    that loads the pipeline. This drops that one record and nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


logging.getLogger().addFilter(_BeamGcpNotice())
