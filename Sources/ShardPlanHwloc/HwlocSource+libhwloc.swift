public import ShardPlan

extension HwlocSource {
  /// hwloc facts from libhwloc: this machine's topology (`local`), and hwloc XML
  /// exports, imported by libhwloc itself.
  public static var libhwloc: HwlocSource {
    HwlocSource(
      localFacts: { try HwlocTopology.discoverLocal() },
      xmlFacts: { try HwlocTopology.readXML(path: $0) }
    )
  }
}
