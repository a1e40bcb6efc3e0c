import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// An architecture no family descriptor reads gets a refusal, not a guessed KV
/// formula: from config.json alone it is not read at all; with safetensors
/// headers its weights are exact and serving it waits for its KV cache size.
@Suite("Unknown architectures fail closed")
struct FailClosedTests {
  /// An invented architecture, `mystery_lm`, with Llama-like dimensions.
  static let config = """
    {"model_type":"mystery_lm","hidden_size":256,"intermediate_size":512,"num_hidden_layers":4,
     "num_attention_heads":4,"num_key_value_heads":2,"vocab_size":1000,"max_position_embeddings":8192,
     "torch_dtype":"bfloat16"}
    """

  /// A folder with the config and, when `withWeights`, one safetensors file of
  /// tensors a Llama reader would not predict (a fused `wqkv` and a `norm_bias`);
  /// returns the folder and the file's tensor bytes.
  static func folder(withWeights: Bool, label: String) throws -> (URL, Int) {
    // A folder per test: tests run at once.
    let folder = try SyntheticFiles.folder("mystery-\(label)")
    try Self.config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
    guard withWeights else { return (folder, 0) }
    var tensors: [(name: String, dtype: String, shape: [Int])] = [("model.embed_tokens.weight", "BF16", [1000, 256])]
    for layer in 0..<4 {
      let p = "model.layers.\(layer)."
      tensors += [
        (p + "attn.wqkv.weight", "BF16", [512, 256]), (p + "attn.out.weight", "BF16", [256, 256]),
        (p + "ffn.w_in.weight", "BF16", [1024, 256]), (p + "ffn.w_out.weight", "BF16", [256, 512]),
        (p + "norm.weight", "BF16", [256]), (p + "norm_bias", "BF16", [256]),
      ]
    }
    tensors += [("model.norm.weight", "BF16", [256]), ("lm_head.weight", "BF16", [1000, 256])]
    let bytes = try SyntheticFiles.writeSafetensors(
      folder.appendingPathComponent("model.safetensors"),
      tensors: tensors
    )
    return (folder, bytes)
  }

  @Test func configAloneIsRefusedNamingTheArchitecture() throws {
    let (folder, _) = try Self.folder(withWeights: false, label: "config")
    #expect {
      try ModelLoader(environment: [:]).load(folder.path)
    } throws: { error in
      guard let error = error as? InputError else { return false }
      return error.field == "model_type" && error.message.contains("'mystery_lm'")
        && error.fix?.contains("--kv-bytes-per-token") == true
    }
  }

  @Test func headersGiveExactWeightsButNoKVCache() throws {
    let (folder, bytes) = try Self.folder(withWeights: true, label: "headers")
    let spec = try ModelLoader(environment: [:]).load(folder.path)
    #expect(spec.weightBytes == Int64(bytes))
    #expect(spec.unknownArchitecture == "mystery_lm")
    #expect(!spec.kvCacheIsKnown)
    let graph = try TopologyLoader().load(["desktop-rtx-3060-12gb"])
    let planner = try Planner(graph: graph)
    let request = InferenceRequest(model: spec, weights: .asStored(spec), context: 4096)
    let refused = planner.plan(request)
    #expect(refused.verdict == .doesNotFit)
    #expect(refused.workloads.isEmpty)
    #expect(refused.reasons.contains { $0.contains("'mystery_lm'") && $0.contains("--kv-bytes-per-token") })
    #expect(planner.price(.layers(stages: [[0]], layers: [0..<4], replicas: []), for: .inference(request)) == nil)
    // The memory model leaves the cache out and says so, rather than guessing it.
    let estimate = MemoryModel.estimate(model: spec, workload: Workload(context: 4096), weights: .asStored(spec))
    #expect(estimate.kvCacheBytes == 0 && estimate.kvBytesPerToken == 0)
    #expect(estimate.leavesOut.first?.contains("mystery_lm") == true)

    // Given its KV cache, 65,536 bytes per token over 4 layers: 16,384 per layer,
    // so 4096 tokens hold exactly 65,536 × 4096 bytes on the one GPU.
    var given = request
    given.model = spec.withKVBytesPerToken(65_536)
    let plan = planner.plan(given)
    #expect(plan.verdict != .doesNotFit)
    #expect(plan.devices.map(\.kvCacheBytes).reduce(0, +) == 65_536 * 4096)
    #expect(plan.devices.map(\.weightBytes).reduce(0, +) == Int64(bytes))
  }

  @Test func aLayoutOfAnUnknownArchitectureIsAFinding() throws {
    let (folder, _) = try Self.folder(withWeights: true, label: "layout")
    let layout = """
      topology: desktop-rtx-3060-12gb
      workloads:
        - role: mystery
          model: \(folder.path)
          context: 4096
          tensorParallel: 1
          pipelineParallel: 1
          stages:
            - devices: [0]
              layers: 0-3
      """
    let report = LayoutValidator(models: ModelLoader(environment: [:]), topologies: TopologyLoader())
      .validate(layout, source: "mystery.yaml")
    #expect(report.verdict == .doesNotFit)
    #expect(report.findings.contains { $0.code == .model && $0.role == "mystery" && $0.message.contains("mystery_lm") })
  }
}
