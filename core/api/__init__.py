"""The gRPC servicers and what they share: request validation, proto rows,
RPC errors, page tokens, event wake-ups."""
