// Node names: the one pattern the config, discovery and the HAProxy agent accept.

/**
 * A node name: a letter or digit, then letters, digits, ".", "_" and "-". It is what HAProxy
 * sends in `agent-send`, Envoy's Host header and an NGINX comment, so it must need no quoting
 * in any of them (and is a valid HAProxy server name).
 */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The rule in words, for error messages ("must …", "is not usable: …"). */
export const NODE_NAME_RULE = 'start with a letter or digit and contain only letters, digits, ".", "_" and "-"';

/**
 * True when `name` can be a node name.
 *
 * @example isNodeName('px01.example') // true
 * @example isNodeName('px 01')        // false
 */
export function isNodeName(name: string): boolean {
  return NODE_NAME_PATTERN.test(name);
}
