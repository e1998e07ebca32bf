// Alias traffic shifting: the additional version gets `weight`, the primary the rest
// (LAMBDA-SPEC §5). The random source is injected so tests can pin the draw.
export type RandomSource = () => number;

/** Picks the version that runs. `random()` is uniform in [0, 1). */
export function pickWeightedVersion(
  primary: string,
  additionalVersionWeights: Record<string, number> | undefined,
  random: RandomSource,
): string {
  const [extra] = Object.entries(additionalVersionWeights ?? {});
  if (!extra) return primary;
  const [version, weight] = extra;
  return random() < weight ? version : primary;
}
