"""Outgoing email: messages built from templates (`messages`), delivery backends chosen by
settings (`backends`), and the `Mailer` the domain sends through (`mailer`)."""
