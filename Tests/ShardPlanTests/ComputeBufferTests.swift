import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// llama.cpp's compute buffer: ggml's allocator reuses memory along the graph, so
/// the buffer is the largest live set of one ubatch, not a sum of its parts. The
/// figures are llama.cpp's own, from the logs in `Fixtures/engine-logs` (Llama 3
/// 8B, n_ubatch 512: vocabulary 128,256, hidden 4,096, 32 heads, FFN 14,336).
@Suite("llama.cpp compute buffer")
struct ComputeBufferTests {
  static let MiB: Int64 = 1 << 20

  static func model() throws -> ModelSpec {
    try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
  }

  static func profile(flashAttention: Bool) -> EngineProfile {
    var profile = EngineProfile.profile(.llamaCpp)
    profile.flashAttention = flashAttention
    return profile
  }

  /// Without flash attention at n_ctx 512 and 2048 the output is the peak: the
  /// logits of 512 tokens and their normed hidden state, 4 × 512 × (4,096 +
  /// 128,256) bytes = 258.50 MiB, llama.cpp's figure in both logs (an RTX 3070
  /// at 512, an Apple M3 at 2048). At n_ctx 8192 (4 sequences of 2048) the
  /// attention scores of 32 heads over 8,192 cells take over: 4 × 512 × (1 +
  /// 4 × 4,096 + 8,192 × 33) bytes = 560.00 MiB, the Ollama log's CUDA0 buffer.
  @Test func withoutFlashAttentionTheLargerOfOutputAndScores() throws {
    let model = try Self.model()
    let off = Self.profile(flashAttention: false)
    let output = 4 * 512 * (4096 + 128_256)
    #expect(Int64(output) == 258 * Self.MiB + Self.MiB / 2)
    #expect(off.activationBytes(model: model, context: 512, batch: 1, tensorParallel: 1) == Int64(output))
    #expect(off.activationBytes(model: model, context: 2048, batch: 1, tensorParallel: 1) == Int64(output))
    let scores = off.activationBytes(model: model, context: 2048, batch: 4, tensorParallel: 1)
    #expect(scores == 4 * 512 * (1 + 4 * 4096 + 8192 * 33))
    #expect(scores == 560 * Self.MiB + 2048)  // "560.00 MiB": the 4 × 512 bytes of the 1 round away
  }

  /// With flash attention the scores are never stored: at n_ctx 8192 the output
  /// stays the peak, and the FFN (three 14,336-wide fp32 tensors and two hidden
  /// ones, 100 MiB) is below it: the buffer is not their sum (366.5 MiB).
  @Test func withFlashAttentionTheOutputStaysThePeak() throws {
    let model = try Self.model()
    let on = Self.profile(flashAttention: true)
    let bytes = on.activationBytes(model: model, context: 8192, batch: 1, tensorParallel: 1)
    #expect(bytes == 4 * 512 * (4096 + 128_256))
    #expect(4 * 512 * (3 * 14_336 + 2 * 4096) < bytes)
  }

  /// A plan that leaves layers in RAM reserves, on the first GPU, the largest
  /// weight of those layers for llama.cpp to copy in and multiply there: for
  /// Llama 3.1 70B Q4_K_M on a 12 GB card, a Q6_K `down_proj`
  /// (8,192 × 28,672 × 210 / 256 bytes = 183.75 MiB).
  @Test func offloadReservesTheLargestCPUWeight() throws {
    let format = try #require(WeightFormat(quant: "q4_k_m"))
    let spec = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-70B").converted(to: format)
    let graph = try TopologyLoader().load(["desktop-rtx-3060-12gb"])
    let request = InferenceRequest(
      model: spec,
      weights: .converted(format),
      context: 8192,
      kvCache: .f16,
      engine: .llamaCpp
    )
    let plan = try Planner(graph: graph).plan(request)
    let workload = try #require(plan.workloads.first)
    let cpuLayers = try #require(workload.cpuLayers)
    #expect(cpuLayers > 0)
    // Q4_K_M keeps some layers' down_proj in Q6_K (210 bytes per 256 weights).
    let largest: Int64 = 8192 * 28_672 * 210 / 256
    #expect(spec.tensors.filter { ($0.layer ?? .max) < cpuLayers }.map(\.bytes).max() == largest)
    let device = try #require(plan.devices.first)
    let profile = EngineProfile.profile(.llamaCpp)
    let activations = profile.activationBytes(model: spec, context: 8192, batch: 1, tensorParallel: 1)
    #expect(device.activationBytes == activations + largest)
    // All 80 layers on the GPU would need no copy: a card that holds them reserves none.
    let big = try Planner(graph: try TopologyLoader().load(["2x-rtx-pro-6000-blackwell"]), objective: .fewestGPUs)
      .plan(request)
    #expect(big.workloads.first?.cpuLayers ?? 0 == 0)
    let used = big.devices.filter { $0.usedBytes > 0 }
    #expect(!used.isEmpty && used.allSatisfy { $0.activationBytes == activations })
  }
}
