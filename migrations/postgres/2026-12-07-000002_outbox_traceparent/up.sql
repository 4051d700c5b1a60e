-- The W3C trace context of the request that queued the e-mail (when traces are
-- exported): the send span joins its trace, though it runs later.
ALTER TABLE email_outbox ADD COLUMN traceparent TEXT;
