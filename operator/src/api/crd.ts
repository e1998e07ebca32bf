// Turns a resource definition into a CustomResourceDefinition: the zod schemas become a
// structural OpenAPI v3 schema, with CEL rules carried over from the schemas' metadata.
import { z } from 'zod';
import { API_VERSION, GROUP } from './common.js';
import type { ResourceDefinition } from './resources.js';

type JsonSchema = { [key: string]: unknown };

/** Drop what a structural schema forbids or what only adds noise. */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'minimum' && value === Number.MIN_SAFE_INTEGER) continue;
    if (key === 'maximum' && value === Number.MAX_SAFE_INTEGER) continue;
    // Rules and list markers are data, not schemas: copy them unchanged.
    out[key] =
      key === 'x-kubernetes-validations' || key === 'enum' || key === 'default' ? value : structural(value);
  }
  return out;
}

export function openApiSchema(schema: z.ZodType): JsonSchema {
  return structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' })) as JsonSchema;
}

export function customResourceDefinition(resource: ResourceDefinition<z.ZodType, z.ZodType>) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${resource.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'lamina' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: resource.kind,
        listKind: `${resource.kind}List`,
        plural: resource.plural,
        singular: resource.singular,
        shortNames: resource.shortNames,
        categories: ['lamina'],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: resource.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openApiSchema(resource.spec),
                status: openApiSchema(resource.status),
              },
            },
          },
        },
      ],
    },
  };
}
