import Foundation
import Testing

@testable import ShardPlan

@Suite("Other families and quantization_config")
struct FamilyAndQuantizationTests {
  static func read(_ json: String) throws -> ModelSpec {
    try HFConfigReader.read(Data(json.utf8), name: "test", source: "test/config.json")
  }

  /// Shapes of public checkpoints; parameter counts as the Hub reports them.
  @Test(arguments: [
    (
      #"{"model_type":"gemma2","hidden_size":3584,"intermediate_size":14336,"num_hidden_layers":42,"num_attention_heads":16,"num_key_value_heads":8,"head_dim":256,"vocab_size":256000,"sliding_window":4096,"torch_dtype":"float32"}"#,
      Int64(9_241_705_984)
    ),
    (
      #"{"model_type":"gemma2","hidden_size":2304,"intermediate_size":9216,"num_hidden_layers":26,"num_attention_heads":8,"num_key_value_heads":4,"head_dim":256,"vocab_size":256000,"sliding_window":4096,"torch_dtype":"float32"}"#,
      Int64(2_614_341_888)
    ),
    (
      #"{"model_type":"phi3","hidden_size":3072,"intermediate_size":8192,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":32,"vocab_size":32064,"tie_word_embeddings":false,"torch_dtype":"bfloat16"}"#,
      Int64(3_821_079_552)
    ),
  ])
  func parameterCounts(_ json: String, _ parameters: Int64) throws {
    #expect(try Self.read(json).parameters == parameters)
  }

  @Test func gemmaSlidingWindowsAndTiedEmbeddings() throws {
    let gemma2 = try Self.read(
      #"{"model_type":"gemma2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":32,"vocab_size":100,"sliding_window":4096}"#
    )
    #expect(gemma2.tiedEmbeddings)
    #expect(gemma2.attention.layers == [.sliding(window: 4096), .full, .sliding(window: 4096), .full])
    let gemma3 = try Self.read(
      #"{"model_type":"gemma3","text_config":{"model_type":"gemma3_text","hidden_size":64,"intermediate_size":128,"num_hidden_layers":12,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":32,"vocab_size":100,"sliding_window":1024}}"#
    )
    #expect(gemma3.attention.layers.filter { $0 == .full }.count == 2)  // layers 5 and 11
    #expect(gemma3.attention.layers[5] == .full)
    #expect(gemma3.notes.contains { $0.contains("vision tower is not") })
    #expect(gemma3.tensors.contains { $0.name == "model.layers.0.self_attn.q_norm.weight" })
  }

  @Test func deepSeekV2LiteHasNoQLora() throws {
    let spec = try Self.read(
      #"{"model_type":"deepseek_v2","hidden_size":2048,"intermediate_size":10944,"moe_intermediate_size":1408,"num_hidden_layers":27,"num_attention_heads":16,"num_key_value_heads":16,"kv_lora_rank":512,"q_lora_rank":null,"qk_nope_head_dim":128,"qk_rope_head_dim":64,"v_head_dim":128,"n_routed_experts":64,"n_shared_experts":2,"num_experts_per_tok":6,"first_k_dense_replace":1,"moe_layer_freq":1,"vocab_size":102400,"torch_dtype":"bfloat16"}"#
    )
    #expect(
      spec.tensors.contains { $0.name == "model.layers.0.self_attn.q_proj.weight" && $0.shape == [16 * 192, 2048] }
    )
    #expect(!spec.tensors.contains { $0.name.contains("q_a_proj") })
    #expect(spec.moe?.moeLayers.count == 26 && spec.moe?.sharedExperts == 2)
    #expect(
      spec.tensors.contains {
        $0.name == "model.layers.1.mlp.shared_experts.gate_proj.weight" && $0.shape == [2816, 2048]
      }
    )
  }

  static let base =
    #""model_type":"llama","hidden_size":256,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":1000,"torch_dtype":"float16""#

  /// Bytes of the 2 × 7 linear layers of the test model: (out, in) pairs.
  static let linears: [(Int64, Int64)] = Array(
    repeating: [(256, 256), (128, 256), (128, 256), (256, 256), (512, 256), (512, 256), (256, 512)],
    count: 2
  ).flatMap { $0 }
  /// Everything else in fp16: embedding, head, 5 norms.
  static let rest: Int64 = (1000 * 256 * 2 + 5 * 256) * 2

  @Test func gptqLayout() throws {
    let spec = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"gptq\",\"bits\":4,\"group_size\":128}}"
    )
    // qweight in/8 × out int32, qzeros in/128 × out/8 int32, scales in/128 × out fp16, g_idx in int32.
    let expected = Self.linears.reduce(Self.rest) { sum, shape in
      let (out, input) = shape
      return sum + input / 8 * out * 4 + input / 128 * (out / 8) * 4 + input / 128 * out * 2 + input * 4
    }
    #expect(spec.weightBytes == expected)
    #expect(spec.tensors.contains { $0.name == "model.layers.0.self_attn.q_proj.qweight" && $0.shape == [32, 256] })
    #expect(spec.tensors.contains { $0.name == "lm_head.weight" && $0.storage == .dense(.f16) })
    #expect(spec.parameters == (try Self.read("{\(Self.base)}")).parameters)
  }

  @Test func awqLayout() throws {
    let spec = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"awq\",\"bits\":4,\"group_size\":128}}"
    )
    let expected = Self.linears.reduce(Self.rest) { sum, shape in
      let (out, input) = shape
      return sum + input * (out / 8) * 4 + input / 128 * (out / 8) * 4 + input / 128 * out * 2
    }
    #expect(spec.weightBytes == expected)
  }

  @Test func bitsandbytesLayouts() throws {
    let nf4 = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_4bit\":true,\"bnb_4bit_use_double_quant\":true}}"
    )
    let expected4 = Self.linears.reduce(Self.rest) { sum, shape in
      let values = shape.0 * shape.1
      let blocks = (values + 63) / 64
      // packed values, uint8 absmax per 64, quant map 16 × f32, nested absmax per 256 blocks, nested map 256 × f32
      return sum + values / 2 + blocks + 64 + (blocks + 255) / 256 * 4 + 1024
    }
    #expect(nf4.weightBytes == expected4)
    let int8 = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"bitsandbytes\",\"load_in_8bit\":true,\"llm_int8_skip_modules\":[\"down_proj\"]}}"
    )
    let expected8 = Self.linears.reduce(Self.rest) { sum, shape in
      // down_proj (256 out, 512 in) is skipped and stays fp16.
      shape == (256, 512) ? sum + shape.0 * shape.1 * 2 : sum + shape.0 * shape.1 + shape.0 * 4
    }
    #expect(int8.weightBytes == expected8)
  }

  @Test func compressedTensorsAndModulesNotConverted() throws {
    let w4 = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"compressed-tensors\",\"config_groups\":{\"group_0\":{\"weights\":{\"num_bits\":4,\"type\":\"int\",\"group_size\":128}}},\"ignore\":[\"lm_head\"]}}"
    )
    let expected = Self.linears.reduce(Self.rest) { sum, shape in
      let (out, input) = shape
      return sum + out * (input / 8) * 4 + out * (input / 128) * 2 + 16
    }
    #expect(w4.weightBytes == expected)
    // modules_to_not_convert with a wildcard: attention stays fp16, MLP is quantized.
    let partial = try Self.read(
      "{\(Self.base),\"quantization_config\":{\"quant_method\":\"fp8\",\"weight_block_size\":[128,128],\"modules_to_not_convert\":[\"model.layers.*.self_attn\"]}}"
    )
    #expect(partial.tensors.first { $0.name == "model.layers.1.self_attn.o_proj.weight" }?.storage == .dense(.f16))
    #expect(partial.tensors.first { $0.name == "model.layers.1.mlp.up_proj.weight" }?.storage == .dense(.f8e4m3))
  }

  @Test func unknownQuantizationIsAClearError() throws {
    do {
      _ = try Self.read("{\(Self.base),\"quantization_config\":{\"quant_method\":\"hqq\"}}")
      Issue.record("expected an error")
    } catch let error as InputError {
      #expect(error.field == "quantization_config.quant_method")
      #expect(error.description.contains("hqq"))
    }
  }
}
