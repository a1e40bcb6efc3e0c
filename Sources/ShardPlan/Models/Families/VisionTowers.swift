/// The vision towers of vision-language models, counted as weights beside their
/// language model: each reads its `vision_config` into the tensors its checkpoint
/// stores (role ``TensorRole/vision``, outside the decoder layers) and says what it
/// read. A wrapper whose tower is not listed here has its language model counted
/// and a note saying the tower is not.
enum VisionTower {
  /// Appends a tower's tensors; returns its summary for the note. The last
  /// argument is the language model's hidden size (the projector's output).
  typealias Reader = @Sendable (Config, inout TensorListBuilder, Int) throws -> String

  /// The tower of a wrapper's `model_type`, if shardplan reads it.
  static func reader(modelType: String) -> Reader? {
    switch modelType {
    case "gemma3":
      return { (config: Config, builder: inout TensorListBuilder, text: Int) throws -> String in
        try config.appendSigLIP(to: &builder, textHidden: text, prefix: "vision_tower.vision_model.")
      }
    case "qwen2_5_vl", "qwen2_vl":
      return { (config: Config, builder: inout TensorListBuilder, _: Int) throws -> String in
        try config.appendQwenVisionTransformer(to: &builder, wrapper: modelType)
      }
    case "qwen3_5", "qwen3_5_moe":
      return { (config: Config, builder: inout TensorListBuilder, _: Int) throws -> String in
        try config.appendQwen35VisionTransformer(to: &builder)
      }
    default: return nil
    }
  }
}

extension Config {
  /// SigLIP (Gemma 3's tower, `SiglipVisionModel`): a patch convolution with bias,
  /// (image / patch)² position embeddings, pre-norm encoder layers with biased
  /// q/k/v/out projections and a two-layer MLP, a post-norm, the attention-pooling
  /// head when `vision_use_head` (SigLIP's default), then Gemma 3's projector
  /// (`mm_input_projection_weight` [vision, text], `mm_soft_emb_norm`).
  func appendSigLIP(to builder: inout TensorListBuilder, textHidden: Int, prefix p: String) throws -> String {
    let family = "SigLIP vision"
    let hidden = try int("hidden_size", family: family)
    let layers = try int("num_hidden_layers", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let patch = max(try int("patch_size", family: family), 1)
    let image = try int("image_size", family: family)
    let channels = try optionalInt("num_channels") ?? 3
    func add(_ name: String, _ shape: [Int]) { builder.plain(name, shape, layer: nil, role: .vision) }
    add(p + "embeddings.patch_embedding.weight", [hidden, channels, patch, patch])
    add(p + "embeddings.patch_embedding.bias", [hidden])
    add(p + "embeddings.position_embedding.weight", [(image / patch) * (image / patch), hidden])
    func linear(_ name: String, out: Int, input: Int) {
      add(name + ".weight", [out, input])
      add(name + ".bias", [out])
    }
    for layer in 0..<layers {
      let q = p + "encoder.layers.\(layer)."
      for norm in ["layer_norm1", "layer_norm2"] {
        add(q + norm + ".weight", [hidden])
        add(q + norm + ".bias", [hidden])
      }
      for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
        linear(q + "self_attn." + projection, out: hidden, input: hidden)
      }
      linear(q + "mlp.fc1", out: intermediate, input: hidden)
      linear(q + "mlp.fc2", out: hidden, input: intermediate)
    }
    add(p + "post_layernorm.weight", [hidden])
    add(p + "post_layernorm.bias", [hidden])
    if bool("vision_use_head", default: true) {
      add(p + "head.probe", [1, 1, hidden])
      add(p + "head.attention.in_proj_weight", [3 * hidden, hidden])
      add(p + "head.attention.in_proj_bias", [3 * hidden])
      linear(p + "head.attention.out_proj", out: hidden, input: hidden)
      add(p + "head.layernorm.weight", [hidden])
      add(p + "head.layernorm.bias", [hidden])
      linear(p + "head.mlp.fc1", out: intermediate, input: hidden)
      linear(p + "head.mlp.fc2", out: hidden, input: intermediate)
    }
    add("multi_modal_projector.mm_input_projection_weight", [hidden, textHidden])
    add("multi_modal_projector.mm_soft_emb_norm.weight", [hidden])
    return "SigLIP, \(layers) layers of \(hidden)"
  }

  /// Qwen2-VL and Qwen2.5-VL's vision transformer (`visual.*`): a bias-free 3-D patch
  /// convolution over `temporal_patch_size` frames, `depth` blocks with RMS norms,
  /// a fused biased `qkv`, a biased gated MLP (Qwen2.5-VL; Qwen2-VL's is `fc1`/`fc2`),
  /// and the patch merger: `ln_q`, then two linears over `spatial_merge_size`² patches
  /// to `out_hidden_size` (the language model's hidden size).
  func appendQwenVisionTransformer(to builder: inout TensorListBuilder, wrapper: String) throws -> String {
    let family = "Qwen vision"
    // Qwen2-VL names the tower's width embed_dim and the merger's output
    // hidden_size; Qwen2.5-VL hidden_size and out_hidden_size.
    let gated = wrapper != "qwen2_vl"
    let hidden = gated ? try int("hidden_size", family: family) : try int("embed_dim", family: family)
    let output = gated ? try int("out_hidden_size", family: family) : try int("hidden_size", family: family)
    let depth = try int("depth", family: family)
    let patch = try optionalInt("patch_size") ?? 14
    let temporal = try optionalInt("temporal_patch_size") ?? 2
    let channels = try optionalInt("in_channels") ?? 3
    let merge = try optionalInt("spatial_merge_size") ?? 2
    let intermediate =
      gated ? try int("intermediate_size", family: family) : hidden * (try optionalInt("mlp_ratio") ?? 4)
    func add(_ name: String, _ shape: [Int]) { builder.plain(name, shape, layer: nil, role: .vision) }
    func linear(_ name: String, out: Int, input: Int) {
      add(name + ".weight", [out, input])
      add(name + ".bias", [out])
    }
    add("visual.patch_embed.proj.weight", [hidden, channels, temporal, patch, patch])
    for block in 0..<depth {
      let q = "visual.blocks.\(block)."
      add(q + "norm1.weight", [hidden])
      add(q + "norm2.weight", [hidden])
      if !gated {
        add(q + "norm1.bias", [hidden])
        add(q + "norm2.bias", [hidden])
      }
      linear(q + "attn.qkv", out: 3 * hidden, input: hidden)
      linear(q + "attn.proj", out: hidden, input: hidden)
      if gated {
        linear(q + "mlp.gate_proj", out: intermediate, input: hidden)
        linear(q + "mlp.up_proj", out: intermediate, input: hidden)
        linear(q + "mlp.down_proj", out: hidden, input: intermediate)
      } else {
        linear(q + "mlp.fc1", out: intermediate, input: hidden)
        linear(q + "mlp.fc2", out: hidden, input: intermediate)
      }
    }
    let merged = hidden * merge * merge
    add("visual.merger.ln_q.weight", [hidden])
    if !gated { add("visual.merger.ln_q.bias", [hidden]) }
    linear("visual.merger.mlp.0", out: merged, input: merged)
    linear("visual.merger.mlp.2", out: output, input: merged)
    return "vision transformer, \(depth) blocks of \(hidden)"
  }
}

extension Config {
  /// Qwen3.5's vision transformer (`model.visual.*`, transformers' `Qwen3_5VisionModel`):
  /// a biased 3-D patch convolution, learned position embeddings
  /// (`num_position_embeddings`), `depth` blocks with LayerNorms, a fused biased `qkv`
  /// and a two-layer biased MLP, then the patch merger (a LayerNorm and two linears
  /// over `spatial_merge_size`² patches to `out_hidden_size`).
  func appendQwen35VisionTransformer(to builder: inout TensorListBuilder) throws -> String {
    let family = "Qwen3.5 vision"
    let hidden = try int("hidden_size", family: family)
    let output = try int("out_hidden_size", family: family)
    let depth = try int("depth", family: family)
    let intermediate = try int("intermediate_size", family: family)
    let positions = try int("num_position_embeddings", family: family)
    let patch = try optionalInt("patch_size") ?? 16
    let temporal = try optionalInt("temporal_patch_size") ?? 2
    let channels = try optionalInt("in_channels") ?? 3
    let merge = try optionalInt("spatial_merge_size") ?? 2
    let p = "model.visual."
    func add(_ name: String, _ shape: [Int]) { builder.plain(name, shape, layer: nil, role: .vision) }
    func linear(_ name: String, out: Int, input: Int) {
      add(name + ".weight", [out, input])
      add(name + ".bias", [out])
    }
    func norm(_ name: String) {
      add(name + ".weight", [hidden])
      add(name + ".bias", [hidden])
    }
    add(p + "patch_embed.proj.weight", [hidden, channels, temporal, patch, patch])
    add(p + "patch_embed.proj.bias", [hidden])
    add(p + "pos_embed.weight", [positions, hidden])
    for block in 0..<depth {
      let q = p + "blocks.\(block)."
      norm(q + "norm1")
      norm(q + "norm2")
      linear(q + "attn.qkv", out: 3 * hidden, input: hidden)
      linear(q + "attn.proj", out: hidden, input: hidden)
      linear(q + "mlp.linear_fc1", out: intermediate, input: hidden)
      linear(q + "mlp.linear_fc2", out: hidden, input: intermediate)
    }
    let merged = hidden * merge * merge
    norm(p + "merger.norm")
    linear(p + "merger.linear_fc1", out: merged, input: merged)
    linear(p + "merger.linear_fc2", out: output, input: merged)
    return "vision transformer, \(depth) blocks of \(hidden)"
  }
}
