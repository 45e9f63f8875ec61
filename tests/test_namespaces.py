"""Package-name facts that decide whose code a class is, before the catalogue is asked."""

import pytest

from qingdan.checks.namespaces import is_platform, looks_obfuscated


@pytest.mark.parametrize("package", ["a", "a.b.c", "com.tencent.b.b.n", "com.qq.e.comm.a", "l.a",
                                     "ab.cd", ""])
def test_obfuscated_packages(package):
    assert looks_obfuscated(package)


@pytest.mark.parametrize("package", ["io.reactivex", "com.umeng.analytics", "me.leolin.shortcutbadger",
                                     "cn.jpush.android", "com.qq.e.ads", "androidx.core.app",
                                     "tv.danmaku.ijk", "u.aly"])
def test_readable_packages(package):
    assert not looks_obfuscated(package)


def test_platform():
    assert is_platform("android.app") and is_platform("java.util.List") and is_platform("androidx.core")
    assert not is_platform("com.android2.x") and not is_platform("javaxx.foo")
