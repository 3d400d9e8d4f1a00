// Route each server frame of the game socket to the page's handler for its command.

/** Call the handler of `frame.cmd` on `handlers`; log a command this client does not know. */
export function dispatch(frame, handlers) {
  switch (frame.cmd) {
    case "CONNECTED":
      return handlers.connected(frame);
    case "ROOMMATES":
      return handlers.roommates(frame);
    case "GAME_BEGIN":
    case "RESUME":
    case "GAME_STATUS":
    case "PLAYER_STATE":
      return handlers.snapshot(frame);
    case "GAME_EVENT":
      return handlers.event(frame);
    case "GAME_MESSAGE_REP":
      return handlers.message(frame);
    case "GAME_OVER":
      return handlers.gameOver(frame);
    case "CREATE_A_COMPUTER":
      return handlers.vote(frame);
    case "LEAVE_REP":
      return handlers.left(frame);
    case "ROOM_CLOSED":
      return handlers.roomClosed(frame);
    case "REMATCH_OFFER":
      return handlers.rematchOffer(frame);
    case "JOIN_ROOM_REP":
      return handlers.rematchJoined(frame);
    case "ERROR":
      return handlers.error(frame);
    default:
      console.warn("discard: unknown command", frame.cmd);
      return undefined;
  }
}
