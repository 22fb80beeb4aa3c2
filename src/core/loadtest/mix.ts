/**
 * A weighted mix that is exact and repeatable: smooth weighted round-robin (nginx's upstream
 * algorithm), so weights 3:1 give A A B A, A A B A, ... and every run sends the same sequence.
 */
export function createWeightedPicker(weights: number[]): () => number {
  if (!weights.length || weights.some((w) => !(w > 0))) throw new Error('weights must be positive')
  const total = weights.reduce((a, b) => a + b, 0)
  const current = weights.map(() => 0)
  if (weights.length === 1) return () => 0
  return () => {
    let best = 0
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    return best
  }
}
