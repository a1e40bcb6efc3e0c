/// vLLM's pipeline-parallel layer split (`vllm/distributed/utils.py`,
/// `get_pp_indices`): by default `L / pp` layers per stage with the remainder
/// given one layer each to the second-to-last stage, then the one before, and so
/// on (never the last stage); or the counts in `VLLM_PP_LAYER_PARTITION`.
package enum VLLMPartition {
  /// Layers per stage of vLLM's default split.
  package static func defaultCounts(layers: Int, stages: Int) -> [Int] {
    guard stages > 0 else { return [] }
    var counts = [Int](repeating: layers / stages, count: stages)
    let remainder = layers % stages
    if remainder > 0 {
      for index in 2..<(remainder + 2) where stages - index >= 0 { counts[stages - index] += 1 }
    }
    return counts
  }

  /// Parses `VLLM_PP_LAYER_PARTITION`, with vLLM's checks.
  /// - Throws: ``InputError`` for a malformed list, a wrong count or a wrong sum.
  package static func parse(_ text: String, layers: Int, stages: Int) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let counts = parts.map { Int($0.trimmingWhitespace()) }
    guard counts.allSatisfy({ ($0 ?? -1) >= 0 }) else {
      throw InputError(
        .malformed,
        source: "VLLM_PP_LAYER_PARTITION",
        message: "invalid partition string '\(text)'",
        expected: "comma-separated layer counts"
      )
    }
    let values = counts.compactMap { $0 }
    guard values.count == stages else {
      throw InputError(
        .inconsistent,
        source: "VLLM_PP_LAYER_PARTITION",
        message: "\(values.count) counts for \(stages) pipeline stages"
      )
    }
    guard values.reduce(0, +) == layers else {
      throw InputError(
        .inconsistent,
        source: "VLLM_PP_LAYER_PARTITION",
        message: "counts add up to \(values.reduce(0, +)), the model has \(layers) layers"
      )
    }
    return values
  }

  /// `[start, end)` of each stage from counts.
  package static func ranges(_ counts: [Int]) -> [Range<Int>] {
    var start = 0
    return counts.map { count in
      defer { start += count }
      return start..<(start + count)
    }
  }

  /// The `VLLM_PP_LAYER_PARTITION` value a plan's stages need, or nil when they
  /// are vLLM's default split.
  package static func environmentValue(for stages: [Stage], layers: Int) -> String? {
    let counts = stages.map { $0.lastLayer - $0.firstLayer + 1 }
    guard counts.count > 1, counts != defaultCounts(layers: layers, stages: counts.count) else { return nil }
    return counts.map(String.init).joined(separator: ",")
  }
}
