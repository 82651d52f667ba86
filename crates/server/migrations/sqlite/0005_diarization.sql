-- Who spoke when (speaker_diarize) and who is speaking now (speaker_stream) need permissions of
-- their own. A token that held every permission (such as the first admin token) keeps holding
-- every permission; any other keeps its list.
UPDATE tokens SET permissions = permissions || ',diarizeVoiceprintGroup,streamVoiceprintGroup'
WHERE permissions = 'createVoiceprintGroup,listVoiceprintGroup,updateVoiceprintGroup,deleteVoiceprintGroup,createVoiceprintFeature,updateVoiceprintFeature,listVoiceprintFeature,deleteVoiceprintFeature,identifyInVoiceprintGroup,verifyVoiceprint,compareVoiceprints';
