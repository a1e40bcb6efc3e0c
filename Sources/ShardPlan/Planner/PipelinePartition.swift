/// Optimal contiguous split of a layer stack over pipeline stages of different
/// sizes and speeds.
package enum PipelinePartition {
  /// One stage's limits and speed.
  package struct Stage: Hashable, Sendable {
    /// Bytes the stage can give to layers (its other costs already subtracted).
    package var capacityBytes: Int64
    /// Seconds per byte of layer weight and cache read per step: the stage's
    /// speed (1 / effective bandwidth). Lower is faster.
    package var secondsPerByte: Double
    /// Bytes the stage holds besides its layers when it is the first stage
    /// (embedding) or the last (head); added by ``solve``.
    package var firstStageExtraBytes: Int64
    package var lastStageExtraBytes: Int64

    package init(
      capacityBytes: Int64,
      secondsPerByte: Double,
      firstStageExtraBytes: Int64 = 0,
      lastStageExtraBytes: Int64 = 0
    ) {
      self.capacityBytes = capacityBytes
      self.secondsPerByte = secondsPerByte
      self.firstStageExtraBytes = firstStageExtraBytes
      self.lastStageExtraBytes = lastStageExtraBytes
    }
  }

  /// A solution: the first layer of each stage (stage k holds
  /// `starts[k] ..< starts[k+1]`, the last up to the layer count) and its cost.
  package struct Solution: Hashable, Sendable {
    package var ranges: [Range<Int>]
    /// The slowest stage's time per step, seconds.
    package var bottleneckSeconds: Double
  }

  /// The split of `layerBytes` (in order) into `stages.count` non-empty contiguous
  /// ranges, stage k on `stages[k]`, that minimises the slowest stage's time
  /// (bytes × seconds per byte) while every stage's bytes — its layers plus the
  /// first stage's and last stage's extras — fit its capacity. Nil when no split fits.
  ///
  /// Exact dynamic programming over (stage, last layer) with prefix sums; ties
  /// broken toward earlier boundaries, so the result is deterministic.
  ///
  /// - Complexity: O(S · L²) for S stages and L layers (126 layers on 8 stages:
  ///   about 127,000 steps).
  package static func solve(layerBytes: [Int64], stages: [Stage]) -> Solution? {
    let layers = layerBytes.count
    let count = stages.count
    guard count >= 1, layers >= count else { return nil }
    var prefix = [Int64](repeating: 0, count: layers + 1)
    for index in 0..<layers { prefix[index + 1] = prefix[index] + layerBytes[index] }
    let infinity = Double.infinity
    // best[k][i]: minimal bottleneck placing layers 0..<i on stages 0...k.
    var best = [[Double]](repeating: [Double](repeating: infinity, count: layers + 1), count: count)
    var choice = [[Int]](repeating: [Int](repeating: -1, count: layers + 1), count: count)
    func stageCost(_ k: Int, _ from: Int, _ to: Int) -> Double? {
      var bytes = prefix[to] - prefix[from]
      if k == 0 { bytes += stages[k].firstStageExtraBytes }
      if k == count - 1 { bytes += stages[k].lastStageExtraBytes }
      guard bytes <= stages[k].capacityBytes else { return nil }
      return Double(bytes) * stages[k].secondsPerByte
    }
    for end in 1...layers {
      if let cost = stageCost(0, 0, end) {
        best[0][end] = cost
        choice[0][end] = 0
      }
    }
    if count > 1 {
      for k in 1..<count {
        // Stage k ends at `end`; earlier stages need at least k layers.
        for end in (k + 1)...layers {
          var bestValue = infinity
          var bestStart = -1
          // Walk the stage's first layer backwards: each step adds a layer, so once
          // the stage no longer fits, no earlier start can fit either.
          var start = end - 1
          while start >= k {
            guard let cost = stageCost(k, start, end) else { break }
            if best[k - 1][start] < infinity {
              let value = max(best[k - 1][start], cost)
              if value <= bestValue {
                bestValue = value
                bestStart = start
              }
            }
            start -= 1
          }
          best[k][end] = bestValue
          choice[k][end] = bestStart
        }
      }
    }
    guard best[count - 1][layers] < infinity else { return nil }
    var ranges: [Range<Int>] = []
    var end = layers
    for k in stride(from: count - 1, through: 0, by: -1) {
      let start = choice[k][end]
      ranges.insert(start..<end, at: 0)
      end = start
    }
    return Solution(ranges: ranges, bottleneckSeconds: best[count - 1][layers])
  }
}
