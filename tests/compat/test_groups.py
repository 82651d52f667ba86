"""The official Coze Python SDK (cozepy) drives voiceprint groups against Voxprint unchanged."""

import time

import pytest
from cozepy import CozeAPIError


def test_create_list_update_delete_through_the_sdk(server):
    coze = server.client()
    groups = coze.audio.voiceprint_groups

    created = [groups.create(name=f"group {i:02d}", desc=f"desc {i}") for i in range(25)]
    assert all(g.id.isdigit() for g in created)
    assert len({g.id for g in created}) == 25

    pager = groups.list(page_size=10)
    assert pager.total == 25
    pages = list(pager.iter_pages())
    assert [len(page.items) for page in pages] == [10, 10, 5]
    listed = [group for group in groups.list(page_size=10)]
    assert [g.id for g in listed] == [g.id for g in reversed(created)], "newest first, each once"
    newest = listed[0]
    assert newest.name == "group 24" and newest.desc == "desc 24"
    assert newest.feature_count == 0
    assert newest.icon_url.startswith(server.base_url)
    assert newest.user_info.name == "admin" and newest.user_info.id.isdigit()
    assert newest.created_at == newest.updated_at and newest.created_at > 1_700_000_000

    only = list(groups.list(group_id=created[3].id))
    assert [g.name for g in only] == ["group 03"]
    prefixed = groups.list(name="group 1", page_size=200)
    assert prefixed.total == 10
    mine = groups.list(user_id=newest.user_info.id)
    assert mine.total == 25

    time.sleep(1.1)
    groups.update(group_id=created[0].id, name="renamed", desc="new desc")
    renamed = list(groups.list(group_id=created[0].id))[0]
    assert (renamed.name, renamed.desc) == ("renamed", "new desc")
    assert renamed.updated_at > renamed.created_at

    groups.delete(group_id=created[0].id)
    assert groups.list(page_size=10).total == 24
    assert list(groups.list(group_id=created[0].id)) == []


def test_errors_reach_the_sdk_as_coze_errors(server):
    groups = server.client().audio.voiceprint_groups
    with pytest.raises(CozeAPIError) as too_long:
        groups.create(name="x" * 21)
    assert too_long.value.code == 4000 and "20" in too_long.value.msg
    assert too_long.value.logid

    with pytest.raises(CozeAPIError) as missing:
        groups.delete(group_id="1234")
    assert missing.value.code == 4200

    with pytest.raises(CozeAPIError) as bad_page:
        groups.list(page_size=500).total
    assert bad_page.value.code == 4000 and "page_size" in bad_page.value.msg

    with pytest.raises(CozeAPIError) as other_user:
        groups.list(user_id="1").total
    assert other_user.value.code == 4101

    with pytest.raises(CozeAPIError) as unauthenticated:
        server.client(token="pat_" + "0" * 64).audio.voiceprint_groups.list().total
    assert unauthenticated.value.code == 4100
