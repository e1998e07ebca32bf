// PackageType Image through the control plane's pure mapping: CreateFunction, UpdateFunctionCode
// and UpdateFunctionConfiguration bodies → spec.image, Lambda's refusals of members a package
// type does not take, and Function/Version → FunctionConfiguration and GetFunction's Code.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LaminaFunction, Version } from '../../../operator/src/api/index.js';
import {
  latestConfiguration,
  versionConfiguration,
} from '../../../operator/src/control-plane/configuration.js';
import { configurationPatchOf, functionSpecOf } from '../../../operator/src/control-plane/function-spec.js';
import {
  imageCodeOf,
  imageCodePatchOf,
  withImageResolution,
} from '../../../operator/src/control-plane/image-spec.js';
import {
  CreateFunctionRequest,
  parseRequest,
  UpdateFunctionConfigurationRequest,
} from '../../../operator/src/control-plane/requests.js';

const ROLE = 'arn:aws:iam::000000000000:role/x';
const URI = 'registry.example.com:5000/team/app:v1';
const DIGEST = 'cd'.repeat(32);
const PINNED = `registry.example.com:5000/team/app@sha256:${DIGEST}`;
const UNUSED_SHA = '0'.repeat(64);

const createImage = (extra: Record<string, unknown> = {}) =>
  parseRequest(CreateFunctionRequest, {
    FunctionName: 'f',
    Role: ROLE,
    PackageType: 'Image',
    Code: { ImageUri: URI },
    ...extra,
  });

const imageFunction = (over: Partial<LaminaFunction['spec']> = {}): LaminaFunction => ({
  apiVersion: 'lamina.dev/v1alpha1',
  kind: 'Function',
  metadata: { name: 'f', namespace: 'team-a', uid: 'u1', generation: 2 },
  spec: {
    image: { uri: URI, imageConfig: { command: ['app.handler'], workingDirectory: '/var/task' } },
    memorySize: 512,
    timeout: 10,
    publish: false,
    ...over,
  },
  status: {
    state: 'Active',
    lastUpdateStatus: 'Successful',
    observedGeneration: 2,
    codeSha256: DIGEST,
    codeSize: 0,
    resolvedImageUri: PINNED,
    revisionId: 'r',
  },
});

const zipSpec = () =>
  functionSpecOf(
    parseRequest(CreateFunctionRequest, {
      FunctionName: 'z',
      Role: ROLE,
      Runtime: 'python3.13',
      Handler: 'app.handler',
      Code: { ZipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
    }),
    'ns',
    'ab'.repeat(32),
  );

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, { code: 'InvalidParameterValueException', message });

describe('CreateFunction with PackageType Image → spec.image', () => {
  it('maps ImageUri and ImageConfig, with no code, runtime, handler or layers', () => {
    const spec = functionSpecOf(
      createImage({
        ImageConfig: { EntryPoint: ['/bin/run'], Command: ['app.handler'], WorkingDirectory: '/var/task' },
        MemorySize: 1024,
        Environment: { Variables: { MODE: 'x' } },
      }),
      'ns',
      UNUSED_SHA,
    );
    assert.deepEqual(spec, {
      image: {
        uri: URI,
        imageConfig: { entryPoint: ['/bin/run'], command: ['app.handler'], workingDirectory: '/var/task' },
      },
      memorySize: 1024,
      timeout: 3,
      publish: false,
      environment: { variables: { MODE: 'x' } },
    });
  });

  it('leaves imageConfig out when ImageConfig overrides nothing', () => {
    const spec = functionSpecOf(createImage({ ImageConfig: { Command: [] } }), 'ns', UNUSED_SHA);
    assert.deepEqual(spec.image, { uri: URI });
  });

  it("refuses Runtime, Handler and Layers with Lambda's message", () => {
    for (const extra of [
      { Runtime: 'python3.13' },
      { Handler: 'app.handler' },
      { Layers: ['arn:aws:lambda:us-east-1:ns:layer:l:1'] },
    ]) {
      refused(
        () => functionSpecOf(createImage(extra), 'ns', UNUSED_SHA),
        /^Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image\.$/,
      );
    }
  });

  it('refuses a zip or S3 source, a missing ImageUri and one that is not an image reference', () => {
    refused(
      () => functionSpecOf(createImage({ Code: { ImageUri: URI, ZipFile: 'UEsFBg==' } }), 'ns', UNUSED_SHA),
      /don't provide ZipFile or S3Bucket .* PackageType is Image/,
    );
    refused(
      () => functionSpecOf(createImage({ Code: { S3Bucket: 'b', S3Key: 'k' } }), 'ns', UNUSED_SHA),
      /don't provide ZipFile or S3Bucket/,
    );
    refused(
      () => functionSpecOf(createImage({ Code: {} }), 'ns', UNUSED_SHA),
      /^Please provide ImageUri when the intended function PackageType is Image\.$/,
    );
    refused(
      () => functionSpecOf(createImage({ Code: { ImageUri: 'Not An Image' } }), 'ns', UNUSED_SHA),
      /^Source image Not An Image is not valid\. Provide a valid source image/,
    );
    refused(
      () => functionSpecOf(createImage({ ImageConfig: { WorkingDirectory: 'relative' } }), 'ns', UNUSED_SHA),
      /WorkingDirectory relative must be an absolute path/,
    );
  });

  it('refuses ImageUri and ImageConfig for a zip function', () => {
    const zip = {
      FunctionName: 'f',
      Role: ROLE,
      Runtime: 'python3.13',
      Handler: 'app.handler',
      Code: { ZipFile: 'UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==' },
    };
    refused(
      () =>
        functionSpecOf(
          parseRequest(CreateFunctionRequest, { ...zip, Code: { ...zip.Code, ImageUri: URI } }),
          'ns',
          UNUSED_SHA,
        ),
      /^Please don't provide ImageUri when the intended function PackageType is Zip\.$/,
    );
    refused(
      () =>
        functionSpecOf(
          parseRequest(CreateFunctionRequest, { ...zip, ImageConfig: { Command: ['x'] } }),
          'ns',
          UNUSED_SHA,
        ),
      /don't provide ImageConfig .* PackageType is Zip/,
    );
  });
});

describe('UpdateFunctionCode and UpdateFunctionConfiguration of an image function', () => {
  it('patches the ImageUri of an image function and leaves a zip function to the upload', () => {
    assert.deepEqual(imageCodePatchOf(imageFunction().spec, { ImageUri: 'r.example.com/team/app:v2' }), {
      spec: { image: { uri: 'r.example.com/team/app:v2' } },
    });
    assert.equal(imageCodePatchOf(zipSpec(), { ZipFile: 'UEsFBg==' }), undefined);
  });

  it('asks the operator to resolve the tag again when the ImageUri is the one the function has', () => {
    const at = '2026-12-02T01:00:00.000Z';
    assert.deepEqual(
      withImageResolution(imageFunction(), imageCodePatchOf(imageFunction().spec, { ImageUri: URI })!, at),
      {
        spec: { image: { uri: URI } },
        metadata: { annotations: { 'lamina.dev/resolve-image': at } },
      },
    );
    const moved = { spec: { image: { uri: 'r.example.com/team/app:v2' } } };
    assert.deepEqual(withImageResolution(imageFunction(), moved, at), moved);
  });

  it('shows LastUpdateStatus InProgress until the operator has resolved the tag again as asked', () => {
    const asked = imageFunction();
    asked.metadata.annotations = { 'lamina.dev/resolve-image': 't2' };
    asked.status = { ...asked.status, imageResolvedFor: 't1' };
    const pending = latestConfiguration(asked, { region: 'us-east-1' });
    assert.equal(pending.State, 'Active');
    assert.equal(pending.LastUpdateStatus, 'InProgress');
    asked.status = { ...asked.status, imageResolvedFor: 't2' };
    assert.equal(latestConfiguration(asked, { region: 'us-east-1' }).LastUpdateStatus, 'Successful');
  });

  it('refuses to change the package type, in either direction', () => {
    refused(
      () => imageCodePatchOf(imageFunction().spec, { ZipFile: 'UEsFBg==' }),
      /^Please provide ImageUri when updating a function with packageType Image\.$/,
    );
    refused(
      () => imageCodePatchOf(imageFunction().spec, {}),
      /^Please provide ImageUri when updating a function with packageType Image\.$/,
    );
    refused(
      () => imageCodePatchOf(zipSpec(), { ImageUri: URI }),
      /^Please don't provide ImageUri when updating a function with packageType Zip\.$/,
    );
  });

  it('replaces the whole ImageConfig (members left out are removed), and removes it when empty', () => {
    const update = (body: object) =>
      configurationPatchOf(parseRequest(UpdateFunctionConfigurationRequest, body), 'ns', imageFunction().spec)
        .spec;
    assert.deepEqual(update({ ImageConfig: { Command: ['other.handler'] }, Timeout: 20 }), {
      image: { imageConfig: { entryPoint: null, command: ['other.handler'], workingDirectory: null } },
      timeout: 20,
    });
    assert.deepEqual(update({ ImageConfig: {} }), { image: { imageConfig: null } });
  });

  it('refuses Runtime/Handler/Layers for an image function and ImageConfig for a zip one', () => {
    refused(
      () => configurationPatchOf({ Handler: 'app.handler' }, 'ns', imageFunction().spec),
      /don't provide Handler or Runtime or Layer/,
    );
    refused(
      () => configurationPatchOf({ ImageConfig: { Command: ['x'] } }, 'ns', zipSpec()),
      /^Please don't provide ImageConfig when updating a function with packageType Zip\.$/,
    );
  });
});

describe('image function → FunctionConfiguration and GetFunction Code', () => {
  it('shows PackageType Image, ImageConfigResponse and the manifest digest as CodeSha256', () => {
    const c = latestConfiguration(imageFunction(), { region: 'us-east-1' });
    assert.equal(c.PackageType, 'Image');
    assert.deepEqual(c.ImageConfigResponse, {
      ImageConfig: { Command: ['app.handler'], WorkingDirectory: '/var/task' },
    });
    assert.equal(c.CodeSha256, DIGEST);
    assert.equal(c.CodeSize, 0);
    assert.equal('Runtime' in c, false);
    assert.equal('Handler' in c, false);
    const zip = latestConfiguration({ ...imageFunction(), spec: zipSpec() }, { region: 'us-east-1' });
    assert.equal(zip.PackageType, 'Zip');
    assert.equal('ImageConfigResponse' in zip, false);
  });

  it('gives $LATEST the URI as written and the one the operator pinned by digest', () => {
    assert.deepEqual(imageCodeOf(imageFunction()), {
      RepositoryType: 'ECR',
      ImageUri: URI,
      ResolvedImageUri: PINNED,
    });
    assert.equal(imageCodeOf({ ...imageFunction(), spec: zipSpec() }), undefined);
  });

  it('shows a published version from the digest its snapshot keeps', () => {
    const version: Version = {
      apiVersion: 'lamina.dev/v1alpha1',
      kind: 'Version',
      metadata: { name: 'f-v1', namespace: 'team-a', uid: 'v' },
      spec: {
        functionName: 'f',
        version: 1,
        snapshot: {
          image: { uri: PINNED, imageConfig: { entryPoint: ['/bin/run'] } },
          codeSha256: DIGEST,
          codeSize: 0,
          memorySize: 512,
          timeout: 10,
          ephemeralStorageSize: 512,
          revisionId: 'r',
        },
      },
    };
    const c = versionConfiguration(imageFunction(), version, { region: 'us-east-1' });
    assert.equal(c.PackageType, 'Image');
    assert.equal(c.Version, '1');
    assert.deepEqual(c.ImageConfigResponse, { ImageConfig: { EntryPoint: ['/bin/run'] } });
    assert.deepEqual(imageCodeOf(imageFunction(), version.spec.snapshot), {
      RepositoryType: 'ECR',
      ImageUri: PINNED,
      ResolvedImageUri: PINNED,
    });
  });
});
