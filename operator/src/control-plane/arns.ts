// ARNs with the Kubernetes namespace in the account position.

export function functionArn(region: string, namespace: string, name: string, qualifier?: string): string {
  const base = `arn:aws:lambda:${region}:${namespace}:function:${name}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}

export function layerVersionArn(region: string, namespace: string, name: string, version: number): string {
  return `arn:aws:lambda:${region}:${namespace}:layer:${name}:${version}`;
}
