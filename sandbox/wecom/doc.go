// Package wecom is an offline stand-in for the WeCom (企业微信) server API at
// qyapi.weixin.qq.com, as far as Siyu uses it for community work: customers
// (客户联系), customer groups (客户群), join ways, contact ways, tags and mass
// messages, plus the encrypted callbacks WeCom sends when a shopper scans a
// group QR code or adds a staff member. The unmodified
// github.com/silenceper/wechat/v2 work client talks to it.
//
// # Platform API (ServeHTTP, real paths)
//
//	GET  /cgi-bin/gettoken?corpid&corpsecret            access_token, expires_in 7200
//	GET  /cgi-bin/externalcontact/get_follow_user_list
//	GET  /cgi-bin/externalcontact/list?userid
//	GET  /cgi-bin/externalcontact/get?external_userid    external_contact, follow_user
//	POST /cgi-bin/externalcontact/get_corp_tag_list
//	POST /cgi-bin/externalcontact/mark_tag
//	POST /cgi-bin/externalcontact/add_contact_way        config_id, qr_code
//	POST /cgi-bin/externalcontact/get_contact_way
//	POST /cgi-bin/externalcontact/del_contact_way
//	POST /cgi-bin/externalcontact/groupchat/list         cursor paging, limit 1–1000
//	POST /cgi-bin/externalcontact/groupchat/get          group_chat with member_list
//	POST /cgi-bin/externalcontact/groupchat/add_join_way config_id
//	POST /cgi-bin/externalcontact/groupchat/get_join_way join_way
//	POST /cgi-bin/externalcontact/groupchat/update_join_way
//	POST /cgi-bin/externalcontact/groupchat/del_join_way
//	POST /cgi-bin/externalcontact/add_msg_template       fail_list, msgid
//
// Every answer is HTTP 200 JSON with errcode/errmsg; errmsg carries a hint,
// the caller's IP and the devtool link like WeCom's. An unknown path answers
// 404 with an empty body. The fault rules of Console's /faults apply first.
//
// # What is faithful
//
//   - Tokens: 41004 without corpsecret, 41002 without corpid, 40013 for a
//     wrong corp id, 40001 for a wrong secret; a token lives TokenTTL (7200 s)
//     and gettoken returns the same token while it is valid. Every other API
//     answers 41001 without a token, 40014 for an unknown one and 42001 for an
//     expired one.
//   - Request and answer shapes follow the WeCom documentation and the
//     silenceper SDK structs; documented limits are enforced: state ≤ 30
//     characters, join way chat_id_list 1–5, remark truncated at 30,
//     room_base_name ≤ 40, groupchat/list limit 1–1000, contact way type 1 with
//     exactly one user, add_msg_template text ≤ 4000 bytes, ≤ 9 attachments of
//     image/link/miniprogram/video/file with their required fields, ≤ 10000
//     customers, ≤ 2000 groups, sender required for group messages, text and
//     attachments not both empty. Documented defaults apply when a field is
//     absent (auto_create_room 1, skip_verify true, chat_type single).
//   - Error codes: 40003 unknown staff, 40050 unknown chat, 40068 tag not in
//     the library, 40096 unknown external_userid, 84061 no follow relationship
//     (a group member nobody has added), 41037 missing contact way type, 45002
//     text too long, 47001 body not JSON. Where WeCom does not document the
//     code for a broken limit, 40058 (invalid parameter) is answered with the
//     parameter named.
//   - Ids have WeCom's shapes: external_userid "wm…" (stable per unionid),
//     chat_id "wr…", tag ids "et…", 32-hex config ids, msgid "msg…".
//   - Callbacks: <xml><ToUserName/><Encrypt/><AgentID/></xml> POSTed to the
//     callback URL with msg_signature, timestamp and nonce; Encrypt is
//     AES-256-CBC (key = base64(EncodingAESKey+"="), iv = key[:16], PKCS#7 to
//     32 bytes) of random(16) + big-endian length + XML + corp id;
//     msg_signature is SHA-1 of the sorted token, timestamp, nonce and
//     Encrypt. The events are change_external_contact/add_external_contact
//     (UserID, ExternalUserID, State, WelcomeCode) and change_external_chat/
//     update with add_member or del_member (ChatId, JoinScene, QuitScene,
//     MemChangeCnt, MemChangeList, LastMemVer, CurMemVer). A callback not
//     answered 200 within 5 s (× TimeScale) is sent again, three retries in
//     all; deliveries go out one at a time in event order. URL verification
//     GETs the URL with an encrypted echostr and expects its plaintext back
//     within 1 s, exactly.
//
// # The shopper's phone and inspection (Console)
//
// ScanJoinWay makes a person join the first group of a join way (join_scene
// 3, with the way's state) and sends add_member; AddContact makes them a
// customer of a contact way's first staff member (with the way's state) and
// sends add_external_contact; LeaveGroup sends del_member. Console serves
// these and the inspection lists as JSON (see Console), and the fault rules
// at /faults.
//
// # Not modelled
//
// Departments, group capacity and auto-created rooms, sending mass messages
// (tasks are only recorded), welcome messages, customer deletion and
// transfer, and events other than the three above.
package wecom
