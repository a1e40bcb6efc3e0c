import Foundation

extension ModelFamily {
  /// BERT: an encoder (no KV cache) with learned positions and token types.
  static let bert = ModelFamily(
    name: "BERT",
    modelTypes: ["bert"],
    ggufArchitectures: ["bert"],
    reading: .custom { config, name in try config.buildBERT(name: name) },
    baseModelPrefix: "bert",
    headModule: nil
  )

  /// RoBERTa and XLM-RoBERTa: BERT's shape under transformers' `roberta` prefix.
  static let roberta = ModelFamily(
    name: "RoBERTa",
    modelTypes: ["roberta", "xlm-roberta"],
    reading: .custom { config, name in try config.buildBERT(name: name) },
    baseModelPrefix: "roberta",
    headModule: nil
  )
}

extension Config {
  func buildBERT(name: String) throws -> ModelSpec {
    let family = modelType
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let heads = try int("num_attention_heads", family: family)
    let vocab = try int("vocab_size", family: family)
    let positions = try int("max_position_embeddings", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let types = try optionalInt("type_vocab_size") ?? 2
    var builder = TensorListBuilder(
      dtype: json["torch_dtype"] == nil ? .f32 : dtype,
      linear: .unquantized(dtype),
      skip: []
    )
    let e = "bert.embeddings."
    builder.plain(e + "word_embeddings.weight", [vocab, hidden], layer: nil, role: .embedding)
    builder.plain(e + "position_embeddings.weight", [positions, hidden], layer: nil, role: .positionEmbedding)
    builder.plain(e + "token_type_embeddings.weight", [types, hidden], layer: nil, role: .positionEmbedding)
    builder.plain(e + "LayerNorm.weight", [hidden], layer: nil, role: .norm)
    builder.plain(e + "LayerNorm.bias", [hidden], layer: nil, role: .norm)
    func dense(_ prefix: String, out: Int, input: Int, layer: Int?, role: TensorRole) {
      builder.plain(prefix + ".weight", [out, input], layer: layer, role: role)
      builder.plain(prefix + ".bias", [out], layer: layer, role: role)
    }
    for layer in 0..<layers {
      let p = "bert.encoder.layer.\(layer)."
      for projection in ["query", "key", "value"] {
        dense(p + "attention.self.\(projection)", out: hidden, input: hidden, layer: layer, role: .attention)
      }
      dense(p + "attention.output.dense", out: hidden, input: hidden, layer: layer, role: .attention)
      builder.plain(p + "attention.output.LayerNorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "attention.output.LayerNorm.bias", [hidden], layer: layer, role: .norm)
      dense(p + "intermediate.dense", out: intermediate, input: hidden, layer: layer, role: .mlp)
      dense(p + "output.dense", out: hidden, input: intermediate, layer: layer, role: .mlp)
      builder.plain(p + "output.LayerNorm.weight", [hidden], layer: layer, role: .norm)
      builder.plain(p + "output.LayerNorm.bias", [hidden], layer: layer, role: .norm)
    }
    dense("bert.pooler.dense", out: hidden, input: hidden, layer: nil, role: .head)
    // Pre-training heads as in the original checkpoint; the decoder weight is tied to the embedding.
    builder.plain("cls.predictions.bias", [vocab], layer: nil, role: .head)
    dense("cls.predictions.transform.dense", out: hidden, input: hidden, layer: nil, role: .head)
    builder.plain("cls.predictions.transform.LayerNorm.weight", [hidden], layer: nil, role: .head)
    builder.plain("cls.predictions.transform.LayerNorm.bias", [hidden], layer: nil, role: .head)
    dense("cls.seq_relationship", out: 2, input: hidden, layer: nil, role: .head)
    return try standardSpec(
      name: name,
      family: family,
      hidden: hidden,
      layers: layers,
      heads: heads,
      kvHeads: heads,
      headDim: hidden / max(heads, 1),
      vocab: vocab,
      intermediate: intermediate,
      defaultContext: positions,
      attentionLayers: Array(repeating: .none, count: layers),
      moe: nil,
      tied: true,
      tensors: builder.tensors,
      quantization: nil,
      notes: [
        "an encoder: no KV cache; the tensor list is the pre-training checkpoint's (BertForPreTraining heads included)"
      ]
    )
  }
}
