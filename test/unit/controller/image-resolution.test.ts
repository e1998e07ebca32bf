// When the Function reconciler asks the registry for an image function's tag again: at a change
// of the spec, or when the annotation lamina.dev/resolve-image carries a value the operator has
// not resolved for yet; otherwise the digest in status stands.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseImageReference } from '../../../operator/src/api/index.js';
import {
  type ImageFunctionFacts,
  imageResolutionPending,
  imageResolutionRequested,
  mustResolveImage,
  RESOLVE_IMAGE_ANNOTATION,
} from '../../../operator/src/controller/image-resolution.js';

const URI = 'registry.example.com:5000/team/app:latest';
const ref = parseImageReference(URI);
const PINNED = `registry.example.com:5000/team/app@sha256:${'a'.repeat(64)}`;

const fn = (
  over: { generation?: number; annotation?: string; status?: ImageFunctionFacts['status'] } = {},
): ImageFunctionFacts => ({
  metadata: {
    generation: over.generation ?? 3,
    ...(over.annotation !== undefined && { annotations: { [RESOLVE_IMAGE_ANNOTATION]: over.annotation } }),
  },
  spec: { image: { uri: URI } },
  status: over.status ?? { observedGeneration: 3, state: 'Active', resolvedImageUri: PINNED },
});

describe('resolving an image tag again', () => {
  it('keeps the pinned digest of an Active function whose spec the operator has seen', () => {
    assert.equal(mustResolveImage(fn(), ref), false);
  });

  it('resolves at a change of the spec, when not Active, and when status pins another repository', () => {
    assert.equal(mustResolveImage(fn({ generation: 4 }), ref), true);
    assert.equal(
      mustResolveImage(
        fn({ status: { observedGeneration: 3, state: 'Failed', resolvedImageUri: PINNED } }),
        ref,
      ),
      true,
    );
    assert.equal(mustResolveImage(fn({ status: { observedGeneration: 3, state: 'Active' } }), ref), true);
    assert.equal(
      mustResolveImage(fn(), parseImageReference('registry.example.com:5000/team/other:v1')),
      true,
    );
  });

  it('resolves when the annotation carries a value not yet resolved for, and once only', () => {
    const asked = fn({ annotation: '1764639000' });
    assert.equal(imageResolutionRequested(asked), '1764639000');
    assert.equal(imageResolutionPending(asked), true);
    assert.equal(mustResolveImage(asked, ref), true);

    const answered = fn({
      annotation: '1764639000',
      status: {
        observedGeneration: 3,
        state: 'Active',
        resolvedImageUri: PINNED,
        imageResolvedFor: '1764639000',
      },
    });
    assert.equal(imageResolutionPending(answered), false);
    assert.equal(mustResolveImage(answered, ref), false);

    const askedAgain = fn({
      annotation: '1764639060',
      status: {
        observedGeneration: 3,
        state: 'Active',
        resolvedImageUri: PINNED,
        imageResolvedFor: '1764639000',
      },
    });
    assert.equal(mustResolveImage(askedAgain, ref), true);
  });

  it('has nothing pending without the annotation, or for a zip function that carries it', () => {
    assert.equal(imageResolutionPending(fn()), false);
    const removed = fn({
      status: { observedGeneration: 3, state: 'Active', resolvedImageUri: PINNED, imageResolvedFor: 'x' },
    });
    assert.equal(imageResolutionPending(removed), false);
    assert.equal(imageResolutionRequested(removed), undefined);
    const zip = { ...fn({ annotation: 'x' }), spec: {} };
    assert.equal(imageResolutionRequested(zip), undefined);
    assert.equal(imageResolutionPending(zip), false);
  });

  it('compares a value longer than status keeps by its first 1024 characters', () => {
    const long = 'v'.repeat(2000);
    const asked = fn({
      annotation: long,
      status: {
        observedGeneration: 3,
        state: 'Active',
        resolvedImageUri: PINNED,
        imageResolvedFor: long.slice(0, 1024),
      },
    });
    assert.equal(imageResolutionRequested(asked)?.length, 1024);
    assert.equal(imageResolutionPending(asked), false);
  });
});
