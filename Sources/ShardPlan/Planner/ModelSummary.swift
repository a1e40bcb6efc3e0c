import Foundation

/// Aggregates of a model's tensors that the planner needs for every candidate,
/// computed in one pass so that pricing a layout does not walk the tensor list
/// again (DeepSeek-V3 has about 90,000 tensors).
package struct ModelSummary: Hashable, Sendable {
  /// Bytes per decoder layer.
  package var layerBytes: [Int64]
  /// Bytes of routed experts per decoder layer.
  package var expertBytesPerLayer: [Int64]
  /// The largest weight of each decoder layer as llama.cpp stores it: one
  /// tensor, or all of a layer's experts of one kind (its `ffn_up_exps`).
  package var largestLayerTensorBytes: [Int64]
  /// Bytes outside the layers that sit with the first stage (embeddings, and
  /// other non-layer tensors but the head).
  package var firstStageBytes: Int64
  /// Bytes that sit with the last stage: the head and any MTP layers.
  package var lastStageBytes: Int64
  /// The output head alone.
  package var headBytes: Int64
  /// Input embeddings (token and position).
  package var embeddingBytes: Int64
  /// All stored bytes.
  package var weightBytes: Int64
  /// 2 × active parameters in matrix products.
  package var flopsPerToken: Int64
  /// Routed experts per MoE layer and experts each token uses (0 and 0 for a dense model).
  package var routedExperts = 0
  package var expertsPerToken = 0

  /// The fraction of a layer's routed experts one decode step reads when `tokens`
  /// tokens are in it: the expected share of distinct experts the tokens are
  /// routed to under uniform routing, 1 − (1 − k/E)^tokens (1 for a dense model).
  /// One token reads k of E; a large batch reads nearly all.
  package func touchedExpertFraction(tokens: Int) -> Double {
    guard routedExperts > 0, expertsPerToken > 0 else { return 1 }
    let share = min(Double(expertsPerToken) / Double(routedExperts), 1)
    return 1 - pow(1 - share, Double(max(tokens, 1)))
  }

  /// Bytes one decode step of `tokens` tokens reads of `layer`'s weights: all of
  /// them but the routed experts no token visits.
  package func decodeReadBytes(layer: Int, tokens: Int) -> Int64 {
    let untouched = Double(expertBytesPerLayer[layer]) * (1 - touchedExpertFraction(tokens: tokens))
    return layerBytes[layer] - Int64(untouched)
  }

  package init(_ model: ModelSpec) {
    var layers = [Int64](repeating: 0, count: model.layers)
    var experts = [Int64](repeating: 0, count: model.layers)
    var first: Int64 = 0
    var last: Int64 = 0
    var head: Int64 = 0
    var embedding: Int64 = 0
    var total: Int64 = 0
    var dense: Int64 = 0
    var routed: Int64 = 0
    var lookup: Int64 = 0
    var largest = [Int64](repeating: 0, count: model.layers)
    // A layer's experts of one kind (the last two parts of the name, `up_proj.weight`).
    var fused: [Int: [Substring: Int64]] = [:]
    for tensor in model.tensors {
      total += tensor.bytes
      if let layer = tensor.layer, layer < model.layers {
        layers[layer] += tensor.bytes
        largest[layer] = max(largest[layer], tensor.bytes)
        if tensor.role == .expert {
          experts[layer] += tensor.bytes
          let kind = tensor.name.split(separator: ".").suffix(2).joined(separator: ".")
          fused[layer, default: [:]][Substring(kind), default: 0] += tensor.bytes
        }
      } else if tensor.role == .head || tensor.layer != nil {
        last += tensor.bytes
      } else {
        first += tensor.bytes
      }
      if tensor.role == .head { head += tensor.bytes }
      if tensor.role == .embedding || tensor.role == .positionEmbedding { embedding += tensor.bytes }
      guard tensor.role != .buffer && tensor.role != .multiTokenPrediction else { continue }
      if tensor.role == .expert { routed += tensor.parameters } else { dense += tensor.parameters }
      if tensor.role == .embedding && !model.tiedEmbeddings { lookup += tensor.parameters }
    }
    var active = dense + routed
    if let moe = model.moe, moe.routedExperts > 0 {
      active = dense + routed * Int64(moe.expertsPerToken) / Int64(moe.routedExperts)
    }
    for (layer, kinds) in fused { largest[layer] = max(largest[layer], kinds.values.max() ?? 0) }
    layerBytes = layers
    expertBytesPerLayer = experts
    largestLayerTensorBytes = largest
    firstStageBytes = first
    lastStageBytes = last
    headBytes = head
    embeddingBytes = embedding
    weightBytes = total
    flopsPerToken = 2 * (active - lookup)
    routedExperts = model.moe?.routedExperts ?? 0
    expertsPerToken = model.moe?.expertsPerToken ?? 0
  }
}
