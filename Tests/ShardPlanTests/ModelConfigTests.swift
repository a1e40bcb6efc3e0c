import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

/// Every config in Models/ (copied from shared/reference/models) yields the
/// checkpoint's exact byte total and parameter count (Models/README.md).
@Suite("config.json → exact weights")
struct ModelConfigTests {
  struct Reference: Sendable, CustomStringConvertible {
    var file: String
    var bytes: Int64
    var parameters: Int64
    var description: String { file }
  }

  static let references: [Reference] = [
    .init(file: "meta-llama__Llama-3.1-8B", bytes: 16_060_522_496, parameters: 8_030_261_248),
    .init(file: "meta-llama__Llama-3.1-70B", bytes: 141_107_412_992, parameters: 70_553_706_496),
    .init(file: "meta-llama__Llama-3.2-1B", bytes: 2_471_628_800, parameters: 1_235_814_400),
    .init(file: "Qwen__Qwen2.5-7B-Instruct", bytes: 15_231_233_024, parameters: 7_615_616_512),
    .init(file: "Qwen__Qwen2.5-72B", bytes: 145_412_407_296, parameters: 72_706_203_648),
    .init(file: "Qwen__Qwen3-8B", bytes: 16_381_470_720, parameters: 8_190_735_360),
    .init(file: "Qwen__Qwen3-32B", bytes: 65_524_246_528, parameters: 32_762_123_264),
    .init(file: "Qwen__Qwen3-30B-A3B", bytes: 61_064_245_248, parameters: 30_532_122_624),
    .init(file: "mistralai__Mistral-7B-v0.1", bytes: 14_483_464_192, parameters: 7_241_732_096),
    .init(file: "mistralai__Mixtral-8x7B-v0.1", bytes: 93_405_585_408, parameters: 46_702_792_704),
    // Parameters exclude the FP8 block scales (the Hub's 684,531,386,000 includes their 41,540,496 elements)
    // and the 58 decoder layers' float32 score-correction biases (58 × 256), buffers in transformers.
    .init(file: "deepseek-ai__DeepSeek-V3", bytes: 688_574_839_360, parameters: 684_489_830_656),
    // Logical parameters: bf16 tensors + 2 FP4 values per packed byte (the Hub also counts the scale bytes).
    .init(file: "openai__gpt-oss-20b", bytes: 13_761_264_768, parameters: 20_914_757_184),
    .init(file: "microsoft__phi-2", bytes: 5_559_367_680, parameters: 2_779_683_840),
    .init(file: "TinyLlama__TinyLlama-1.1B-Chat-v1.0", bytes: 2_200_096_768, parameters: 1_100_048_384),
    .init(file: "google-bert__bert-base-cased", bytes: 435_731_736, parameters: 108_932_934),
    // 124,439,808 parameters; the 12 stored causal-mask buffers are bytes, not parameters.
    .init(file: "openai-community__gpt2", bytes: 548_090_880, parameters: 124_439_808),
  ]

  static func spec(_ file: String) throws -> ModelSpec {
    let data = try Data(contentsOf: URL(fileURLWithPath: Repository.path("Models/\(file).config.json")))
    return try HFConfigReader.read(data, name: file, source: "\(file).config.json")
  }

  @Test(arguments: references)
  func bytesAndParametersMatchTheCheckpoint(_ reference: Reference) throws {
    let spec = try Self.spec(reference.file)
    #expect(spec.weightBytes == reference.bytes)
    #expect(spec.parameters == reference.parameters)
    #expect(Set(spec.tensors.map(\.name)).count == spec.tensors.count, "tensor names are unique")
  }

  @Test func everyReferenceConfigIsCovered() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Repository.path("Models"))
      .filter { $0.hasSuffix(".config.json") }.map { String($0.dropLast(".config.json".count)) }
    #expect(Set(files) == Set(Self.references.map(\.file)))
  }

  @Test func moeActiveParameters() throws {
    // Models/README.md: Qwen3-30B-A3B has 3,353,032,704 active parameters.
    #expect(try Self.spec("Qwen__Qwen3-30B-A3B").activeParameters == 3_353_032_704)
    // Mixtral: non-expert parameters + 2 of 8 experts per layer.
    let mixtral = try Self.spec("mistralai__Mixtral-8x7B-v0.1")
    let expertParameters: Int64 = 32 * 8 * 3 * 14_336 * 4_096
    #expect(mixtral.activeParameters == mixtral.parameters - expertParameters + expertParameters / 4)
  }

  @Test func deepSeekStructure() throws {
    let spec = try Self.spec("deepseek-ai__DeepSeek-V3")
    #expect(spec.layers == 61 && spec.extraLayers == 1)
    #expect(spec.moe?.moeLayers.count == 58)  // first 3 layers dense
    #expect(spec.attention.mla == .init(kvLoraRank: 512, ropeHeadDim: 64))
    let scale = try #require(spec.tensors.first { $0.name == "model.layers.0.self_attn.q_a_proj.weight_scale_inv" })
    #expect(scale.shape == [12, 56])  // ⌈1536/128⌉ × ⌈7168/128⌉
    #expect(scale.storage == .dense(.f32))
    #expect(spec.tensors.contains { $0.name == "model.layers.61.eh_proj.weight" && $0.storage == .dense(.bf16) })
  }

  @Test func gptOSSLayerTypesAndPackedExperts() throws {
    let spec = try Self.spec("openai__gpt-oss-20b")
    #expect(spec.attention.layers.prefix(2) == [.sliding(window: 128), .full])
    let blocks = try #require(spec.tensors.first { $0.name == "model.layers.0.mlp.experts.gate_up_proj_blocks" })
    #expect(blocks.shape == [32, 5760, 90, 16])
    // The attention projections stay bf16 (modules_to_not_convert).
    #expect(spec.tensors.first { $0.name == "model.layers.0.self_attn.q_proj.weight" }?.storage == .dense(.bf16))
  }

  @Test func tiedEmbeddingsAreCountedOnce() throws {
    let spec = try Self.spec("meta-llama__Llama-3.2-1B")
    #expect(spec.tiedEmbeddings)
    #expect(!spec.tensors.contains { $0.name == "lm_head.weight" })
  }

  @Test func largestLayerIsTheEmbeddingForSmallModels() throws {
    let spec = try Self.spec("meta-llama__Llama-3.1-8B")
    // 128256 × 4096 × 2 bytes: larger than one decoder layer (218,112,000 parameters × 2 bytes).
    #expect(spec.largestLayerBytes == 128_256 * 4_096 * 2)
    #expect(spec.layerBytes[0] == 218_112_000 * 2)
  }
}

/// Model families are one descriptor each (Models/Families/): every name maps to
/// one family, every bundled model is read by its family's descriptor, and the
/// sliding-window rules say what the families' modeling code does.
@Suite("Model families")
struct ModelFamilyTests {
  @Test func everyNameBelongsToOneFamily() {
    let types = ModelFamily.all.flatMap(\.modelTypes)
    #expect(Set(types).count == types.count, "a model_type is claimed twice")
    let architectures = ModelFamily.all.flatMap(\.ggufArchitectures)
    #expect(Set(architectures).count == architectures.count, "a GGUF architecture is claimed twice")
  }

  @Test func everyBundledModelHasItsFamily() throws {
    let loader = ModelLoader(environment: [:])
    for id in BundledModels.ids {
      let spec = try loader.load(id)
      let family = try #require(ModelFamily.of(spec), "\(id) (\(spec.family)) has no family")
      if case .tensorsOnly = family.reading { Issue.record("\(id) is read from config.json by a tensors-only family") }
      #expect(!spec.notes.contains { $0.contains("not a known family") }, "\(id)")
    }
  }

  @Test func slidingWindowRules() {
    func rule(_ family: ModelFamily) -> [LayerAttention] {
      family.layerAttention(layers: 12, window: 512, period: nil, useSlidingWindow: false, maxWindowLayers: nil)
    }
    let local = LayerAttention.sliding(window: 512)
    // Gemma 3: five local layers to one global (transformers `sliding_window_pattern` 6).
    #expect(rule(.gemma3).filter { $0 == .full }.count == 2)
    #expect(rule(.gemma3)[5] == .full && rule(.gemma3)[4] == local)
    // Gemma 2: even layers local, odd global.
    #expect(rule(.gemma2)[0] == local && rule(.gemma2)[1] == .full)
    // Mistral: every layer; Qwen: none without use_sliding_window.
    #expect(rule(.mistral).allSatisfy { $0 == local })
    #expect(rule(.qwen3).allSatisfy { $0 == .full })
  }
}
