"""Dunning: customer-facing emails sent from the sequence a merchant publishes (Decision 1).

* ``templates``: sandboxed rendering, the variables, amounts per currency, the default templates;
* ``sequences``: templates and sequences as the editor changes them, publishing, previews, test sends;
* ``scheduling``: the messages a recovery gets (``schedule_for``) and stopping them (``cancel_for``);
* ``mailer``: SMTP, or ``.eml`` files in ``MAIL_OUTBOX`` when no SMTP host is set;
* ``sending``: the job that sends one due message.

Nothing is imported here, so the recovery services can import ``dunning.scheduling`` without
pulling in the sending job (which imports the card-update links, which import the recovery).
"""
