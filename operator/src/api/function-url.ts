// Where a function URL lives on the gateway. Two equivalent forms:
//
//   path-based (always):  http://<gateway>/lambda-url/<namespace>/<function>[:<alias>]/<path…>
//   host-based (with DNS): http://[<alias>.]<function>.<namespace>.<domain>/<path…>
//
// The host form is rewritten to the path form before routing, so on a function's own host
// every path (even /metrics) belongs to the function. Without an alias the URL runs $LATEST.
export const URL_PREFIX = '/lambda-url';

/** The URL the operator shows in Function `status.url` (path-based form). */
export function functionUrl(gatewayBaseUrl: string, namespace: string, functionName: string): string {
  return `${gatewayBaseUrl.replace(/\/+$/, '')}${URL_PREFIX}/${namespace}/${functionName}/`;
}
