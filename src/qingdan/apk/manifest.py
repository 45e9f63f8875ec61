"""AndroidManifest.xml → :class:`Manifest`, with Android's defaults applied.

What Android decides implicitly is made explicit here, because compliance findings depend on
it: whether a component is exported (explicit, or implied by intent filters up to target SDK
30), the process it runs in, the permission guarding it, cleartext traffic defaults by target
SDK, and full class names for ``.Relative`` ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from qingdan.apk.axml import ResRef, XmlNode

# Platform codenames that may stand in for a number in min/target SDK of preview builds.
SDK_CODENAMES: dict[str, int] = {
    "Cupcake": 3, "Donut": 4, "Eclair": 7, "Froyo": 8, "Gingerbread": 10, "Honeycomb": 13,
    "IceCreamSandwich": 15, "JellyBean": 18, "KitKat": 19, "Lollipop": 22, "M": 23, "N": 25,
    "O": 27, "P": 28, "Q": 29, "R": 30, "S": 31, "Sv2": 32, "Tiramisu": 33,
    "UpsideDownCake": 34, "VanillaIceCream": 35, "Baklava": 36,
}

COMPONENT_TAGS = ("activity", "activity-alias", "service", "receiver", "provider")


@dataclass(slots=True)
class IntentFilter:
    actions: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    data: list[dict[str, str]] = field(default_factory=list)
    priority: int | None = None


@dataclass(slots=True)
class Component:
    kind: str  # activity | activity-alias | service | receiver | provider
    name: str
    exported: bool
    exported_explicit: bool | None  # what the manifest said (None = implied)
    enabled: bool
    process: str | None
    permission: str | None
    intent_filters: list[IntentFilter] = field(default_factory=list)
    meta_data: dict[str, str] = field(default_factory=dict)
    authorities: list[str] = field(default_factory=list)  # providers
    target_activity: str | None = None  # activity-alias
    direct_boot_aware: bool = False
    foreground_service_type: str | None = None

    def actions(self) -> set[str]:
        return {a for f in self.intent_filters for a in f.actions}


@dataclass(slots=True)
class UsesPermission:
    name: str
    max_sdk: int | None = None
    sdk23: bool = False  # declared with uses-permission-sdk-23 (runtime grant only on M+)


@dataclass(slots=True)
class Manifest:
    package: str
    version_code: int | None
    version_name: str | None
    label: str | None
    label_ref: int | None
    min_sdk: int
    target_sdk: int
    compile_sdk: int | None
    sdk_codenames: dict[str, str]
    uses_permissions: list[UsesPermission]
    declared_permissions: dict[str, str]  # custom <permission> → protectionLevel
    components: list[Component]
    application_name: str | None
    debuggable: bool
    allow_backup: bool
    uses_cleartext_traffic: bool
    cleartext_explicit: bool
    network_security_config: int | str | None
    app_process: str | None
    app_meta_data: dict[str, str]
    shared_user_id: str | None
    features: list[str]
    queries: dict[str, list[str]]  # <queries>: packages, intents(actions), providers
    warnings: list[str] = field(default_factory=list)

    @property
    def permission_names(self) -> list[str]:
        return [p.name for p in self.uses_permissions]


def _str(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _bool(v: object, default: bool) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("true", "1"):
            return True
        if s in ("false", "0"):
            return False
    return default


def _int(v: object) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip(), 0)
        except ValueError:
            return None
    return None


def _sdk(v: object, codenames: dict[str, str], key: str) -> int | None:
    n = _int(v)
    if n is not None:
        return n
    if isinstance(v, str) and v:
        codenames[key] = v
        return SDK_CODENAMES.get(v, SDK_CODENAMES.get(v.split(".")[0]))
    return None


def full_class_name(package: str, name: str) -> str:
    if name.startswith("."):
        return package + name
    if "." not in name:
        return f"{package}.{name}" if package else name
    return name


def build_manifest(root: XmlNode, resolve: Callable[[int], object] | None = None) -> Manifest:
    """Interpret a parsed manifest tree. ``resolve`` maps a resource id to its value (arsc)."""
    warnings: list[str] = []
    if root.tag != "manifest":
        warnings.append(f"root element is <{root.tag}>, not <manifest>")
    pkg = _str(root.get("package")) or ""
    if not pkg:
        warnings.append("manifest has no package name")

    def value(v: object) -> object:
        if isinstance(v, ResRef) and resolve is not None:
            r = resolve(v.id)
            return r if r is not None else v
        return v

    codenames: dict[str, str] = {}
    min_sdk: int | None = None
    target_sdk: int | None = None
    for us in root.findall("uses-sdk"):
        min_sdk = _sdk(value(us.get("android:minSdkVersion")), codenames, "min") or min_sdk
        target_sdk = _sdk(value(us.get("android:targetSdkVersion")), codenames, "target") or target_sdk
    if min_sdk is None:
        min_sdk = 1
    if target_sdk is None:
        target_sdk = min_sdk
    compile_sdk = _int(root.get("android:compileSdkVersion")) or _int(root.get("platformBuildVersionCode"))

    perms: dict[str, UsesPermission] = {}
    for tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m"):
        for el in root.findall(tag):
            name = _str(el.get("android:name"))
            if not name:
                continue
            maxv = _int(el.get("android:maxSdkVersion"))
            prev = perms.get(name)
            if prev is None:
                perms[name] = UsesPermission(name, maxv, tag != "uses-permission")
            else:
                # merged: the widest reach wins
                prev.max_sdk = None if (prev.max_sdk is None or maxv is None) else max(prev.max_sdk, maxv)
                prev.sdk23 = prev.sdk23 and tag != "uses-permission"
    declared = {}
    for el in root.findall("permission"):
        name = _str(el.get("android:name"))
        if name:
            lvl = el.get("android:protectionLevel")
            declared[name] = _protection_name(lvl)
    features = [f for f in (_str(el.get("android:name")) for el in root.findall("uses-feature")) if f]
    queries: dict[str, list[str]] = {"packages": [], "intents": [], "providers": []}
    for q in root.findall("queries"):
        for el in q.children:
            if el.tag == "package" and el.get("android:name"):
                queries["packages"].append(str(el.get("android:name")))
            elif el.tag == "intent":
                queries["intents"].extend(str(a.get("android:name")) for a in el.findall("action")
                                          if a.get("android:name"))
            elif el.tag == "provider" and el.get("android:authorities"):
                queries["providers"].append(str(el.get("android:authorities")))

    apps = root.findall("application")
    app = apps[0] if apps else XmlNode("application")
    if len(apps) > 1:
        warnings.append(f"{len(apps)} <application> elements; the first is used")
    label_raw = app.get("android:label")
    label_ref = label_raw.id if isinstance(label_raw, ResRef) else None
    label = value(label_raw)
    if isinstance(label, ResRef):
        label = None
    app_perm = _str(app.get("android:permission"))
    app_proc = _str(value(app.get("android:process")))
    cleartext_raw = app.get("android:usesCleartextTraffic")
    nsc = value(app.get("android:networkSecurityConfig"))
    comps: list[Component] = []
    for el in app.children:
        if el.tag not in COMPONENT_TAGS:
            continue
        raw_name = _str(el.get("android:name"))
        if not raw_name:
            warnings.append(f"<{el.tag}> without a name")
            continue
        name = full_class_name(pkg, raw_name)
        filters = []
        for f in el.findall("intent-filter"):
            filters.append(IntentFilter(
                actions=[str(a.get("android:name")) for a in f.findall("action")
                         if a.get("android:name") is not None],
                categories=[str(c.get("android:name")) for c in f.findall("category")
                            if c.get("android:name") is not None],
                data=[{k.split(":", 1)[-1]: str(value(v)) for k, v in d.attrs.items()}
                      for d in f.findall("data")],
                priority=_int(f.get("android:priority")),
            ))
        exp_raw = value(el.get("android:exported"))
        explicit = _bool(exp_raw, False) if exp_raw is not None else None
        if explicit is not None:
            exported = explicit
        elif el.tag == "provider":
            exported = target_sdk <= 16
        else:
            exported = bool(filters)
            if filters and target_sdk >= 31:
                warnings.append(f"{name}: has intent filters but no android:exported (required from target "
                                "SDK 31)")
        proc = _str(value(el.get("android:process"))) or app_proc
        if proc and proc.startswith(":"):
            proc = pkg + proc
        perm = _str(el.get("android:permission")) or app_perm
        if el.tag == "provider" and perm is None:
            perm = _str(el.get("android:readPermission")) or _str(el.get("android:writePermission"))
        target = _str(el.get("android:targetActivity"))
        comps.append(Component(
            kind=el.tag, name=name, exported=exported, exported_explicit=explicit,
            enabled=_bool(value(el.get("android:enabled")), True), process=proc, permission=perm,
            intent_filters=filters, meta_data=_meta(el, value),
            authorities=[a for a in (_str(el.get("android:authorities")) or "").split(";") if a],
            target_activity=full_class_name(pkg, target) if target else None,
            direct_boot_aware=_bool(el.get("android:directBootAware"), False),
            foreground_service_type=_str(el.get("android:foregroundServiceType")),
        ))
    app_name = _str(app.get("android:name"))
    return Manifest(
        package=pkg,
        version_code=_int(root.get("android:versionCode")),
        version_name=_str(value(root.get("android:versionName"))),
        label=_str(label),
        label_ref=label_ref,
        min_sdk=min_sdk,
        target_sdk=target_sdk,
        compile_sdk=compile_sdk,
        sdk_codenames=codenames,
        uses_permissions=list(perms.values()),
        declared_permissions=declared,
        components=comps,
        application_name=full_class_name(pkg, app_name) if app_name else None,
        debuggable=_bool(app.get("android:debuggable"), False),
        allow_backup=_bool(app.get("android:allowBackup"), True),
        uses_cleartext_traffic=_bool(cleartext_raw, target_sdk < 28),
        cleartext_explicit=cleartext_raw is not None,
        network_security_config=str(nsc) if nsc is not None else None,
        app_process=app_proc,
        app_meta_data=_meta(app, value),
        shared_user_id=_str(root.get("android:sharedUserId")),
        features=features,
        queries=queries,
        warnings=warnings,
    )


def _meta(el: XmlNode, value: Callable[[object], object]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in el.findall("meta-data"):
        k = _str(m.get("android:name"))
        if not k:
            continue
        v = m.get("android:value")
        if v is None:
            v = m.get("android:resource")
        out[k] = _str(value(v)) or ""
    return out


_PROT = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem"}


def _protection_name(v: object) -> str:
    if isinstance(v, int) and not isinstance(v, bool):
        return _PROT.get(v & 0xF, f"0x{v:x}")
    return _str(v) or "normal"
