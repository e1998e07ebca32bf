// Text Lamina writes where users read it (status, conditions, Events): bounded by one rule.
/**
 * Status text stays short enough to read in `kubectl get -o wide` and `describe`: whole
 * messages are cut at `max` characters, and input a message quotes back (a variable map, a
 * URL) is cut with a smaller `max` first so the reason itself survives.
 */
export const STATUS_MESSAGE_MAX = 256;
export const ECHOED_INPUT_MAX = 64;

export function clip(message: string, max = STATUS_MESSAGE_MAX): string {
  return message.length > max ? `${message.slice(0, max - 1)}…` : message;
}
